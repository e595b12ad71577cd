//! Recorded `tegrastats` lines from several boards and JetPack releases.

use super::*;

const MIB: f64 = 1024.0 * 1024.0;

/// Jetson Nano, JetPack 4 (EMC/GR3D without clocks, as when not run as root).
pub(crate) const NANO_JP4: &str = "RAM 2448/3956MB (lfb 4x1MB) SWAP 0/1978MB (cached 0MB) \
    CPU [9%@1479,6%@1479,4%@1479,7%@1479] EMC_FREQ 0% GR3D_FREQ 0% PLL@24C CPU@26.5C PMIC@100C \
    GPU@24.5C AO@34C thermal@25.25C POM_5V_IN 2559/2559 POM_5V_GPU 0/0 POM_5V_CPU 477/477";

/// Jetson AGX Orin, JetPack 5 (timestamp, per-GPC clocks, sensors off at -256, mW rails).
pub(crate) const ORIN_JP5: &str = "08-23-2023 10:15:01 RAM 3453/30536MB (lfb 6395x4MB) \
    SWAP 0/15268MB (cached 0MB) CPU [1%@729,0%@729,off,off,off,off,off,off] EMC_FREQ 0%@3199 \
    GR3D_FREQ 0%@[305,0] VIC_FREQ 729 APE 174 CV0@-256C CPU@47.75C SOC2@44.093C SOC0@45.062C \
    CV1@-256C GPU@-256C tj@47.75C SOC1@43.187C CV2@-256C VDD_GPU_SOC 2000mW/2000mW \
    VDD_CPU_CV 400mW/400mW VIN_SYS_5V0 3320mW/3320mW";

/// Jetson TX2, JetPack 4 (Denver cores off, two CPU sensors).
const TX2_JP4: &str = "RAM 1985/7854MB (lfb 1x4MB) SWAP 0/3927MB (cached 0MB) \
    CPU [1%@345,off,off,0%@345,1%@345,1%@345] EMC_FREQ 0%@1866 GR3D_FREQ 0%@114 APE 150 \
    PLL@33C MCPU@33C PMIC@100C Tboard@29C GPU@31C BCPU@33C thermal@32.1C Tdiode@30.5C \
    VDD_SYS_GPU 152/152 VDD_SYS_SOC 382/382 VDD_4V0_WIFI 0/0 VDD_IN 1752/1752";

/// Jetson AGX Xavier, JetPack 4: rails named `GPU` and `CPU`, like the sensors.
const XAVIER_JP4: &str = "RAM 1772/15692MB (lfb 3043x4MB) SWAP 0/7846MB (cached 0MB) \
    CPU [2%@1190,1%@1190,off,off,off,off,off,off] EMC_FREQ 0%@1600 GR3D_FREQ 0%@318 APE 150 \
    MTS fg 0% bg 0% AO@32C GPU@32C Tdiode@35.5C PMIC@100C CPU@33C GPU 0/0 CPU 154/154 \
    SOC 1385/1385 CV 0/0 SYS5V 1806/1806";

/// Jetson Orin Nano, JetPack 6 (lowercase sensors, no EMC, one GPC clock).
const ORIN_NANO_JP6: &str = "11-15-2024 09:30:12 RAM 2264/7620MB (lfb 2x4MB) \
    SWAP 0/3810MB (cached 0MB) CPU [0%@729,3%@1510] GR3D_FREQ 45%@[1300] cpu@47.343C \
    soc2@46.375C gpu@48.656C tj@48.656C VDD_IN 4366mW/4366mW VDD_CPU_GPU_CV 485mW/485mW";

/// Jetson TX1, L4T R24 (lowercase `cpu`, one shared clock, `EMC`/`GR3D`).
const TX1_R24: &str = "RAM 1466/3983MB (lfb 395x4MB) cpu [0%,12%,off,0%]@102 EMC 2%@1600 \
    AVP 0%@80 NVDEC 268 MSENC 268 GR3D 0%@76 EDP limit 1734";

/// Nano with IRAM; AGX Orin with every core off, GPCs at 0 and `NC` rails twice.
const NANO_IRAM: &str = "RAM 1702/3964MB (lfb 148x4MB) SWAP 0/1982MB (cached 0MB) \
    IRAM 0/252kB(lfb 252kB) CPU [3%@102] EMC_FREQ 3%@1600 GR3D_FREQ 0%@76 POM_5V_GPU 40/40";
const ORIN_OFF: &str = "RAM 2722/30536MB (lfb 6566x4MB) CPU [off,off,off,off] GR3D_FREQ 0%@[0,0] \
    NVDLA0 off VIN_SYS_5V0 2928mW/2928mW NC 0mW/0mW VDDQ_VDD2_1V8AO 299mW/299mW NC 0mW/0mW";

fn names_and_values(line: &str) -> Vec<(String, f64)> {
    parse(line)
        .into_iter()
        .map(|(s, _, v)| (s.as_str().to_owned(), v))
        .collect()
}

#[test]
#[allow(clippy::too_many_lines)] // one table
fn recorded_lines_parse_to_exact_readings() {
    let cases: &[(&str, &[(&str, f64)])] = &[
        (
            NANO_JP4,
            &[
                ("jetson.ram_used_bytes", 2448.0 * MIB),
                ("jetson.ram_total_bytes", 3956.0 * MIB),
                ("jetson.swap_used_bytes", 0.0),
                ("jetson.swap_total_bytes", 1978.0 * MIB),
                ("jetson.cpu0.util_pct", 9.0),
                ("jetson.cpu0.freq_hz", 1479e6),
                ("jetson.cpu1.util_pct", 6.0),
                ("jetson.cpu1.freq_hz", 1479e6),
                ("jetson.cpu2.util_pct", 4.0),
                ("jetson.cpu2.freq_hz", 1479e6),
                ("jetson.cpu3.util_pct", 7.0),
                ("jetson.cpu3.freq_hz", 1479e6),
                ("jetson.emc.util_pct", 0.0),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.temp.pll_c", 24.0),
                ("jetson.temp.cpu_c", 26.5),
                ("jetson.temp.pmic_c", 100.0),
                ("jetson.temp.gpu_c", 24.5),
                ("jetson.temp.ao_c", 34.0),
                ("jetson.temp.thermal_c", 25.25),
                ("jetson.power.pom_5v_in_w", 2.559),
                ("jetson.power.pom_5v_gpu_w", 0.0),
                ("jetson.power.pom_5v_cpu_w", 0.477),
            ],
        ),
        (
            ORIN_JP5,
            &[
                ("jetson.ram_used_bytes", 3453.0 * MIB),
                ("jetson.ram_total_bytes", 30536.0 * MIB),
                ("jetson.swap_used_bytes", 0.0),
                ("jetson.swap_total_bytes", 15268.0 * MIB),
                ("jetson.cpu0.util_pct", 1.0),
                ("jetson.cpu0.freq_hz", 729e6),
                ("jetson.cpu1.util_pct", 0.0),
                ("jetson.cpu1.freq_hz", 729e6),
                ("jetson.emc.util_pct", 0.0),
                ("jetson.emc.freq_hz", 3199e6),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.gpu.freq_hz", 305e6),
                ("jetson.temp.cpu_c", 47.75),
                ("jetson.temp.soc2_c", 44.093),
                ("jetson.temp.soc0_c", 45.062),
                ("jetson.temp.tj_c", 47.75),
                ("jetson.temp.soc1_c", 43.187),
                ("jetson.power.vdd_gpu_soc_w", 2.0),
                ("jetson.power.vdd_cpu_cv_w", 0.4),
                ("jetson.power.vin_sys_5v0_w", 3.32),
            ],
        ),
        (
            TX2_JP4,
            &[
                ("jetson.ram_used_bytes", 1985.0 * MIB),
                ("jetson.ram_total_bytes", 7854.0 * MIB),
                ("jetson.swap_used_bytes", 0.0),
                ("jetson.swap_total_bytes", 3927.0 * MIB),
                ("jetson.cpu0.util_pct", 1.0),
                ("jetson.cpu0.freq_hz", 345e6),
                ("jetson.cpu3.util_pct", 0.0),
                ("jetson.cpu3.freq_hz", 345e6),
                ("jetson.cpu4.util_pct", 1.0),
                ("jetson.cpu4.freq_hz", 345e6),
                ("jetson.cpu5.util_pct", 1.0),
                ("jetson.cpu5.freq_hz", 345e6),
                ("jetson.emc.util_pct", 0.0),
                ("jetson.emc.freq_hz", 1866e6),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.gpu.freq_hz", 114e6),
                ("jetson.temp.pll_c", 33.0),
                ("jetson.temp.mcpu_c", 33.0),
                ("jetson.temp.pmic_c", 100.0),
                ("jetson.temp.tboard_c", 29.0),
                ("jetson.temp.gpu_c", 31.0),
                ("jetson.temp.bcpu_c", 33.0),
                ("jetson.temp.thermal_c", 32.1),
                ("jetson.temp.tdiode_c", 30.5),
                ("jetson.power.vdd_sys_gpu_w", 0.152),
                ("jetson.power.vdd_sys_soc_w", 0.382),
                ("jetson.power.vdd_4v0_wifi_w", 0.0),
                ("jetson.power.vdd_in_w", 1.752),
            ],
        ),
        (
            XAVIER_JP4,
            &[
                ("jetson.ram_used_bytes", 1772.0 * MIB),
                ("jetson.ram_total_bytes", 15692.0 * MIB),
                ("jetson.swap_used_bytes", 0.0),
                ("jetson.swap_total_bytes", 7846.0 * MIB),
                ("jetson.cpu0.util_pct", 2.0),
                ("jetson.cpu0.freq_hz", 1190e6),
                ("jetson.cpu1.util_pct", 1.0),
                ("jetson.cpu1.freq_hz", 1190e6),
                ("jetson.emc.util_pct", 0.0),
                ("jetson.emc.freq_hz", 1600e6),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.gpu.freq_hz", 318e6),
                ("jetson.temp.ao_c", 32.0),
                ("jetson.temp.gpu_c", 32.0),
                ("jetson.temp.tdiode_c", 35.5),
                ("jetson.temp.pmic_c", 100.0),
                ("jetson.temp.cpu_c", 33.0),
                ("jetson.power.gpu_w", 0.0),
                ("jetson.power.cpu_w", 0.154),
                ("jetson.power.soc_w", 1.385),
                ("jetson.power.cv_w", 0.0),
                ("jetson.power.sys5v_w", 1.806),
            ],
        ),
        (
            ORIN_NANO_JP6,
            &[
                ("jetson.ram_used_bytes", 2264.0 * MIB),
                ("jetson.ram_total_bytes", 7620.0 * MIB),
                ("jetson.swap_used_bytes", 0.0),
                ("jetson.swap_total_bytes", 3810.0 * MIB),
                ("jetson.cpu0.util_pct", 0.0),
                ("jetson.cpu0.freq_hz", 729e6),
                ("jetson.cpu1.util_pct", 3.0),
                ("jetson.cpu1.freq_hz", 1510e6),
                ("jetson.gpu.util_pct", 45.0),
                ("jetson.gpu.freq_hz", 1300e6),
                ("jetson.temp.cpu_c", 47.343),
                ("jetson.temp.soc2_c", 46.375),
                ("jetson.temp.gpu_c", 48.656),
                ("jetson.temp.tj_c", 48.656),
                ("jetson.power.vdd_in_w", 4.366),
                ("jetson.power.vdd_cpu_gpu_cv_w", 0.485),
            ],
        ),
        (
            TX1_R24,
            &[
                ("jetson.ram_used_bytes", 1466.0 * MIB),
                ("jetson.ram_total_bytes", 3983.0 * MIB),
                ("jetson.cpu0.util_pct", 0.0),
                ("jetson.cpu0.freq_hz", 102e6),
                ("jetson.cpu1.util_pct", 12.0),
                ("jetson.cpu1.freq_hz", 102e6),
                ("jetson.cpu3.util_pct", 0.0),
                ("jetson.cpu3.freq_hz", 102e6),
                ("jetson.emc.util_pct", 2.0),
                ("jetson.emc.freq_hz", 1600e6),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.gpu.freq_hz", 76e6),
            ],
        ),
        (
            NANO_IRAM,
            &[
                ("jetson.ram_used_bytes", 1702.0 * MIB),
                ("jetson.ram_total_bytes", 3964.0 * MIB),
                ("jetson.swap_used_bytes", 0.0),
                ("jetson.swap_total_bytes", 1982.0 * MIB),
                ("jetson.cpu0.util_pct", 3.0),
                ("jetson.cpu0.freq_hz", 102e6),
                ("jetson.emc.util_pct", 3.0),
                ("jetson.emc.freq_hz", 1600e6),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.gpu.freq_hz", 76e6),
                ("jetson.power.pom_5v_gpu_w", 0.04),
            ],
        ),
        (
            ORIN_OFF,
            &[
                ("jetson.ram_used_bytes", 2722.0 * MIB),
                ("jetson.ram_total_bytes", 30536.0 * MIB),
                ("jetson.gpu.util_pct", 0.0),
                ("jetson.gpu.freq_hz", 0.0),
                ("jetson.power.vin_sys_5v0_w", 2.928),
                ("jetson.power.vddq_vdd2_1v8ao_w", 0.299),
            ],
        ),
    ];
    for (line, expected) in cases {
        let expected: Vec<(String, f64)> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), *v))
            .collect();
        assert_eq!(names_and_values(line), expected, "{line}");
    }
}

#[test]
fn units_follow_the_series() {
    for (series, unit, _) in parse(ORIN_JP5) {
        let name = series.as_str();
        let want = match name {
            n if n.ends_with("_bytes") => "bytes",
            n if n.ends_with("_pct") => "percent",
            n if n.ends_with("_hz") => "hertz",
            n if n.starts_with("jetson.temp.") => "celsius",
            n if n.starts_with("jetson.power.") => "watts",
            n => panic!("unexpected series {n}"),
        };
        assert_eq!(unit, want, "{name}");
    }
}

#[test]
fn garbage_yields_nothing() {
    let garbage = [
        "",
        "   \t ",
        "hello world",
        "\u{0}\u{fffd}\u{fffd} RAM",
        "RAM /MB SWAP x/yMB RAM 1/2XB RAM 1/2",
        "CPU [ CPU [%@,@@,]]] cpu []@ CPU [-%@-,inf%@nan]",
        "GR3D_FREQ %@[ EMC_FREQ x%@[,,] GR3D_FREQ off",
        "X@C @C @12C CPU@NaNC tj@infC _x@3C 1x@3C a.b@3C",
        "VDD_IN mW/mW VDD_IN 1/ VDD_IN /1 vdd_in 1/1 VDD.IN 1/1 VDD_IN 1e3/1e3",
        "tegrastats: failed to open /sys/kernel/debug/bpmp/debug/clk/emc/rate: Permission denied",
    ];
    for line in garbage {
        assert_eq!(parse(line), Vec::new(), "{line:?}");
    }
}

#[test]
fn cut_lines_and_noise_never_panic_and_stay_bounded() {
    for line in [
        NANO_JP4,
        ORIN_JP5,
        TX2_JP4,
        XAVIER_JP4,
        ORIN_NANO_JP6,
        TX1_R24,
    ] {
        let whole: Vec<String> = names_and_values(line).into_iter().map(|(n, _)| n).collect();
        for cut in (0..line.len()).filter(|&i| line.is_char_boundary(i)) {
            for (series, _, value) in parse(&line[..cut]) {
                assert!(value.is_finite());
                // A cut token may read as a shorter number, but never as a new series.
                let name = series.as_str();
                assert!(whole.iter().any(|w| w == name), "{name}");
            }
        }
    }
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let noise: String = (0..20_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b"RAMCPU[]@%/,.0123456789 mWC_off"[usize::try_from(seed % 31).unwrap()])
        })
        .collect();
    assert!(parse(&noise).len() <= MAX_READINGS);
    let many = "CPU@1C ".repeat(1000) + &(0..1000).map(|i| format!("T{i}@1C ")).collect::<String>();
    assert_eq!(
        parse(&many).len(),
        MAX_READINGS,
        "duplicates dropped, total capped"
    );
}
