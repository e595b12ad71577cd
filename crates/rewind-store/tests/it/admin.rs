//! Tokens, devices and deploys.

use rewind_model::{DeviceId, DeviceIdentity, NewDeploy, Role, Timestamp, TokenId, TokenScope};
use rewind_store::{DeployFilter, Error, NewToken, StoredCheck};

use crate::backends;

fn ms(v: i64) -> Timestamp {
    Timestamp::from_unix_millis(v)
}

fn token(name: &str, scope: TokenScope, created_ms: i64) -> NewToken {
    NewToken {
        name: name.into(),
        scope,
        secret_hash: format!("{name:0>64}"),
        prefix: format!("rwd_{name}"),
        created_at: ms(created_ms),
        expires_at: None,
    }
}

#[tokio::test]
async fn tokens_are_created_listed_found_by_hash_and_revoked_once() {
    for b in backends().await {
        let alice = b
            .store
            .create_token(&NewToken {
                expires_at: Some(ms(9_000)),
                ..token(
                    "alice",
                    TokenScope::User {
                        role: Role::Responder,
                    },
                    1_000,
                )
            })
            .await
            .unwrap();
        assert_eq!(alice.name, "alice", "{}", b.name());
        assert_eq!(
            alice.scope,
            TokenScope::User {
                role: Role::Responder
            }
        );
        assert_eq!(alice.prefix, "rwd_alice");
        assert_eq!(alice.expires_at, Some(ms(9_000)));
        assert_eq!(alice.revoked_at, None);
        let device_scope = TokenScope::Device {
            device_id: DeviceId::new("robot-7").unwrap(),
        };
        let robot = b
            .store
            .create_token(&token("robot7", device_scope.clone(), 2_000))
            .await
            .unwrap();
        assert_eq!(robot.scope, device_scope);
        assert_eq!(robot.actor(), "device:robot-7");

        let dup = b
            .store
            .create_token(&token(
                "alice",
                TokenScope::User { role: Role::Admin },
                3_000,
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(dup, Error::Conflict { .. }),
            "{}: {dup:?}",
            b.name()
        );

        let listed = b.store.list_tokens().await.unwrap();
        assert_eq!(listed, [robot.clone(), alice.clone()], "newest first");
        let found = b
            .store
            .token_by_hash(&format!("{:0>64}", "alice"))
            .await
            .unwrap();
        assert_eq!(found, Some(alice.clone()));
        assert_eq!(b.store.token_by_hash("nope").await.unwrap(), None);

        let revoked = b.store.revoke_token(alice.id, ms(5_000)).await.unwrap();
        assert_eq!(revoked.revoked_at, Some(ms(5_000)));
        assert!(!revoked.is_usable(ms(5_001)));
        let again = b.store.revoke_token(alice.id, ms(6_000)).await.unwrap();
        assert_eq!(
            again.revoked_at,
            Some(ms(5_000)),
            "the first revocation stays"
        );
        let found = b
            .store
            .token_by_hash(&format!("{:0>64}", "alice"))
            .await
            .unwrap();
        assert_eq!(
            found,
            Some(revoked),
            "revoked tokens are still found (and refused by callers)"
        );
        let missing = b
            .store
            .revoke_token(TokenId::new_v7(), ms(1))
            .await
            .unwrap_err();
        assert!(matches!(missing, Error::NotFound { .. }));
    }
}

#[tokio::test]
async fn devices_register_update_and_are_seen() {
    for b in backends().await {
        let r1 = DeviceId::new("robot-1").unwrap();
        let identity = DeviceIdentity {
            fleet: Some("warehouse".into()),
            site: Some("berlin-2".into()),
            hardware: Some("jetson".into()),
            software_version: Some("2.14.1".into()),
            agent_version: Some("0.9.0".into()),
        };
        let d = b
            .store
            .upsert_device(&r1, &identity, ms(1_000))
            .await
            .unwrap();
        assert_eq!(d.identity, identity, "{}", b.name());
        assert_eq!((d.first_seen_at, d.last_seen_at), (ms(1_000), ms(1_000)));

        let newer = DeviceIdentity {
            software_version: Some("2.15.0".into()),
            ..identity.clone()
        };
        let d = b.store.upsert_device(&r1, &newer, ms(2_000)).await.unwrap();
        assert_eq!(d.identity, newer);
        assert_eq!((d.first_seen_at, d.last_seen_at), (ms(1_000), ms(2_000)));

        b.store.touch_device(&r1, ms(3_000)).await.unwrap();
        b.store.touch_device(&r1, ms(2_500)).await.unwrap();
        let d = b.store.get_device(&r1).await.unwrap();
        assert_eq!(d.identity, newer, "touching keeps the identity");
        assert_eq!(d.last_seen_at, ms(3_000), "last seen never moves back");

        let r0 = DeviceId::new("robot-0").unwrap();
        b.store.touch_device(&r0, ms(4_000)).await.unwrap();
        let d0 = b.store.get_device(&r0).await.unwrap();
        assert_eq!(d0.identity, DeviceIdentity::default());
        assert_eq!((d0.first_seen_at, d0.last_seen_at), (ms(4_000), ms(4_000)));

        let all = b.store.list_devices().await.unwrap();
        let names: Vec<_> = all.iter().map(|d| d.device_id.as_str()).collect();
        assert_eq!(names, ["robot-0", "robot-1"], "{}", b.name());
        let missing = b
            .store
            .get_device(&DeviceId::new("ghost").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(missing, Error::NotFound { .. }));
    }
}

#[tokio::test]
async fn deploys_are_recorded_and_listed_by_service_environment_and_time() {
    for b in backends().await {
        let mut stored = Vec::new();
        for (i, (service, env)) in [
            ("planner", "production"),
            ("lidar", "production"),
            ("planner", "staging"),
            ("planner", "production"),
        ]
        .into_iter()
        .enumerate()
        {
            let i = i64::try_from(i).unwrap();
            let new = NewDeploy {
                service: service.into(),
                version: format!("2.{i}"),
                environment: env.into(),
                commit: (i % 2 == 0).then(|| format!("abc{i}")),
                actor: Some("ci".into()),
                at: (i != 3).then(|| ms(1_000 * (i + 1))),
            };
            let d = b.store.insert_deploy(&new, ms(10_000 + i)).await.unwrap();
            assert_eq!(d.service, service, "{}", b.name());
            assert_eq!(d.commit, new.commit);
            assert_eq!(d.recorded_at, ms(10_000 + i));
            stored.push(d);
        }
        assert_eq!(stored[3].at, ms(10_003), "`at` defaults to recorded_at");

        let list = |f: DeployFilter| {
            let store = b.store.clone();
            async move {
                store
                    .list_deploys(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.version)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list(DeployFilter::default()).await,
            ["2.3", "2.2", "2.1", "2.0"],
            "{}",
            b.name()
        );
        assert_eq!(
            list(DeployFilter {
                service: Some("planner".into()),
                ..Default::default()
            })
            .await,
            ["2.3", "2.2", "2.0"]
        );
        assert_eq!(
            list(DeployFilter {
                environment: Some("production".into()),
                ..Default::default()
            })
            .await,
            ["2.3", "2.1", "2.0"]
        );
        assert_eq!(
            list(DeployFilter {
                since: Some(ms(2_000)),
                until: Some(ms(3_001)),
                ..Default::default()
            })
            .await,
            ["2.2", "2.1"]
        );
        assert_eq!(
            list(DeployFilter {
                service: Some("planner".into()),
                environment: Some("production".into()),
                limit: 1,
                ..Default::default()
            })
            .await,
            ["2.3"]
        );
    }
}

#[tokio::test]
async fn a_deploy_is_decided_once_and_linked_to_its_incident() {
    for b in backends().await {
        let new = NewDeploy {
            service: "checkout".into(),
            version: "1.4.2".into(),
            environment: "production".into(),
            commit: None,
            actor: None,
            at: Some(ms(1_000)),
        };
        let deploy = b.store.insert_deploy(&new, ms(1_000)).await.unwrap();
        assert_eq!(b.store.get_check(deploy.id).await.unwrap(), None);
        let incident = b
            .store
            .ingest(&crate::bundle("checkout", 2_000))
            .await
            .unwrap()
            .incident;
        let check = StoredCheck {
            deploy_id: deploy.id,
            verdict: "regression".into(),
            summary: "checkout/error_rate rose from 0.01 to 0.2".into(),
            evidence: serde_json::json!({"metrics": [{"series": "error_rate", "p_value": 1e-9}]}),
            incident_id: Some(incident.id),
            window_end: ms(301_000),
            decided_at: ms(302_000),
        };
        let stored = b.store.record_check(&check).await.unwrap();
        assert_eq!(stored, check, "{}", b.name());
        assert_eq!(
            b.store.get_check(deploy.id).await.unwrap(),
            Some(check.clone())
        );

        // Decided once: a second verdict does not replace the first.
        let again = StoredCheck {
            verdict: "no_regression".into(),
            incident_id: None,
            ..check.clone()
        };
        assert_eq!(b.store.record_check(&again).await.unwrap(), check);

        // Unknown deploys and verdict words are refused, nothing is written.
        let other = StoredCheck {
            deploy_id: rewind_model::DeployId::new_v7(),
            ..check.clone()
        };
        assert!(matches!(
            b.store.record_check(&other).await.unwrap_err(),
            Error::NotFound { .. }
        ));
        let word = b.store.insert_deploy(&new, ms(5_000)).await.unwrap();
        let bad = StoredCheck {
            deploy_id: word.id,
            verdict: "maybe".into(),
            ..check.clone()
        };
        assert!(matches!(
            b.store.record_check(&bad).await.unwrap_err(),
            Error::Conflict { .. }
        ));
        assert_eq!(b.store.get_check(word.id).await.unwrap(), None);
    }
}
