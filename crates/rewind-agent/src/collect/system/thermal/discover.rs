//! Listing thermal zones and their trip points (at build time and every
//! `rediscover_interval`, never on every pass).

use std::path::{Path, PathBuf};

use super::{MAX_TRIPS, MAX_ZONES, Trip, Zone, read_word, zone_segment, zone_series};
use crate::collect::system::common::{is_gone, read_i64};

/// `thermal_zone<N>` directories under `class`, by number (at most [`MAX_ZONES`]).
fn list(class: &Path) -> Vec<(usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(class) else {
        return Vec::new();
    };
    let mut found: Vec<(usize, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let n = e
                .file_name()
                .to_str()?
                .strip_prefix("thermal_zone")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    found.truncate(MAX_ZONES);
    found
}

/// Every readable `thermal_zone<N>` under `class`, by zone number.
pub(super) fn zones(class: &Path, buf: &mut String) -> Vec<Zone> {
    let found = list(class);
    let kinds: Vec<Option<String>> = found
        .iter()
        .map(|(_, dir)| read_word(&dir.join("type"), buf))
        .collect();
    let segments: Vec<Option<String>> = kinds
        .iter()
        .map(|k| k.as_deref().and_then(zone_segment))
        .collect();
    let mut zones = Vec::new();
    for (((n, dir), kind), seg) in found.into_iter().zip(&kinds).zip(&segments) {
        if read_i64(&dir.join("temp"), buf).is_err() {
            tracing::debug!(zone = %dir.display(), "thermal zone without a readable temperature: skipped");
            continue;
        }
        let unique = seg
            .as_ref()
            .filter(|s| segments.iter().flatten().filter(|o| o == s).count() == 1);
        let seg = unique.cloned().unwrap_or_else(|| format!("zone{n}"));
        let Some(temp_name) = zone_series(&seg, "temp_c") else {
            continue;
        };
        let trips = trips(&dir, &seg, buf);
        let label = kind.clone().unwrap_or_else(|| format!("thermal_zone{n}"));
        zones.push(Zone {
            dir,
            label,
            temp_name,
            trips,
        });
    }
    zones
}

/// The trip points of one zone, numbered from 0 without gaps.
fn trips(dir: &Path, seg: &str, buf: &mut String) -> Vec<Trip> {
    let mut trips = Vec::new();
    for n in 0..MAX_TRIPS {
        let millis = match read_i64(&dir.join(format!("trip_point_{n}_temp")), buf) {
            Ok(t) if t > 0 => t,
            Ok(_) => continue,
            Err(e) if is_gone(&e) => break,
            Err(_) => continue,
        };
        let kind = read_word(&dir.join(format!("trip_point_{n}_type")), buf)
            .unwrap_or_else(|| "unknown".into());
        let hyst = read_i64(&dir.join(format!("trip_point_{n}_hyst")), buf)
            .unwrap_or(0)
            .max(0);
        if let Some(name) = zone_series(seg, &format!("trip_{n}_c")) {
            trips.push(Trip {
                n,
                kind,
                millis,
                hyst,
                name,
                above: None,
            });
        }
    }
    trips
}
