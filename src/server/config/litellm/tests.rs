//! The litellm import, against litellm configs as its docs write them.

use super::*;
use std::path::Path;

fn parse(text: &str) -> Result<(ServerConfig, Vec<String>)> {
    ServerConfig::from_litellm_yaml(text, "config.yaml")
}

/// tests/litellm/config.yaml (a litellm config as its docs write them)
/// means what tests/litellm/switchboard.toml says; the data lives out
/// of src/ because it names providers.
#[test]
fn a_litellm_config_means_what_its_switchboard_twin_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/litellm");
    let (yaml, warnings) = ServerConfig::load(&dir.join("config.yaml")).unwrap();
    let (toml, none) = ServerConfig::load(&dir.join("switchboard.toml")).unwrap();
    assert!(none.is_empty());
    assert_eq!(format!("{yaml:#?}"), format!("{toml:#?}"));

    let joined = warnings.join("\n");
    for key in [
        "model_list[1].litellm_params.stream_timeout",
        "model_list[1].model_info.mode",
        "litellm_settings.success_callback",
        "router_settings.redis_host",
        "general_settings.database_url",
    ] {
        assert!(
            joined.contains(&format!("{key} ignored")),
            "{key}: {joined}"
        );
    }
    assert_eq!(warnings.len(), 5, "{joined}");
}

/// Issue 12: keys that protect money or access are refused, naming the
/// key, rather than ignored.
#[test]
fn keys_guarding_money_or_access_stop_the_import() {
    let base = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o}\n";
    for (extra, key) in [
        ("guardrails:\n  - guardrail_name: pii\n", "guardrails"),
        (
            "litellm_settings: {max_budget: 100}\n",
            "litellm_settings.max_budget",
        ),
        (
            "litellm_settings: {guardrails: [x]}\n",
            "litellm_settings.guardrails",
        ),
        (
            "general_settings: {custom_auth: my_auth.fn}\n",
            "general_settings.custom_auth",
        ),
        (
            "general_settings: {enable_jwt_auth: true}\n",
            "general_settings.enable_jwt_auth",
        ),
    ] {
        let e = parse(&format!("{base}{extra}")).unwrap_err();
        assert!(
            e.message()
                .starts_with(&format!("config.yaml: {key}: it protects money or access")),
            "{key}: {e}"
        );
    }
}

#[test]
fn litellm_params_defaults_and_router_keys_are_checked() {
    let base = "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/gpt-4o\n";
    let e = parse(&format!("{base}      extra_headers: [x]\n")).unwrap_err();
    assert!(
        e.message().contains("extra_headers must be a mapping"),
        "{e}"
    );
    let e = parse(&format!("{base}      drop_params: maybe\n")).unwrap_err();
    assert!(
        e.message().contains("drop_params must be true or false"),
        "{e}"
    );
    let e = parse(&format!(
        "{base}router_settings: {{model_group_alias: {{a: [1]}}}}\n"
    ))
    .unwrap_err();
    assert!(e.message().contains("model_group_alias.a must be"), "{e}");
    let e = parse(&format!(
        "{base}general_settings: {{allowed_ips: 10.0.0.1}}\n"
    ))
    .unwrap_err();
    assert!(e.message().contains("allowed_ips must be a list"), "{e}");
    let (c, _) = parse(&format!("{base}      seed: 7\n      top_p: 0.5\n")).unwrap();
    assert_eq!(c.router.deployments[0].defaults["seed"], 7);
    assert_eq!(c.router.deployments[0].defaults["top_p"], 0.5);
}

#[test]
fn every_strategy_name_maps() {
    for (name, strategy) in STRATEGIES {
        let text = format!(
            "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/gpt-4o\nrouter_settings:\n  routing_strategy: {name}\n"
        );
        assert_eq!(parse(&text).unwrap().0.router.router.strategy, strategy);
    }
    let e = parse("model_list:\n  - model_name: g\n    litellm_params: {model: x}\nrouter_settings: {routing_strategy: fastest}\n")
        .unwrap_err();
    assert!(
        e.message()
            .contains("\"fastest\" is not one of simple-shuffle"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_errors_that_name_them() {
    let e = parse(
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/gpt-4o\n      api_bsae: http://x\n      rmp: 3\n",
    )
    .unwrap_err();
    assert!(
        e.message().starts_with(
            "config.yaml: unknown keys model_list[0].litellm_params.api_bsae, model_list[0].litellm_params.rmp"
        ),
        "{e}"
    );
    let e = parse("model_lsit: []\n").unwrap_err();
    assert!(e.message().contains("unknown key model_lsit"), "{e}");
    let e = parse("model_list:\n  - model_name: g\n    litellm_params: {model: x}\nrouter_settings: {num_retires: 1}\n")
        .unwrap_err();
    assert!(e.message().contains("router_settings.num_retires"), "{e}");
}

#[test]
fn credentials_in_the_config_are_refused_not_dropped() {
    let e = parse(
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/gpt-4o\n      aws_access_key_id: AKIA\n",
    )
    .unwrap_err();
    assert!(e.message().contains("aws_access_key_id"), "{e}");
    assert!(e.message().contains("environment variables"), "{e}");
}

#[test]
fn an_empty_model_list_and_bad_values_are_refused() {
    let e = parse("general_settings: {master_key: sk-1}\n").unwrap_err();
    assert!(e.message().contains("no model_list entries"), "{e}");
    let e = parse("model_list:\n  - model_name: g\n    litellm_params: {model: x, rpm: lots}\n")
        .unwrap_err();
    assert!(
        e.message()
            .contains("model_list[0].litellm_params.rpm must be a non-negative number"),
        "{e}"
    );
    let e = parse("model_list:\n  - litellm_params: {model: x}\n").unwrap_err();
    assert!(
        e.message().contains("model_list[0].model_name is missing"),
        "{e}"
    );
}

#[test]
fn api_base_environment_references_are_resolved_and_unset_ones_named() {
    let e = parse(
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: os.environ/SWITCHBOARD_TEST_SURELY_UNSET_BASE\n",
    )
    .unwrap_err();
    assert!(
        e.message()
            .contains("SWITCHBOARD_TEST_SURELY_UNSET_BASE is not set"),
        "{e}"
    );
}

#[test]
fn yaml_merge_keys_are_applied() {
    let text = "model_list:\n  - model_name: a\n    litellm_params: &p\n      model: openai/gpt-4o\n      rpm: 10\n  - model_name: b\n    litellm_params:\n      <<: *p\n      tpm: 20\n";
    let (c, _) = parse(text).unwrap();
    assert_eq!(c.router.deployments[1].rpm, Some(10));
    assert_eq!(c.router.deployments[1].tpm, Some(20));
}

#[test]
fn every_mapped_provider_id_exists() {
    let map = mapping().unwrap();
    let client = crate::Client::new().unwrap();
    let ids = map
        .providers
        .values()
        .chain(map.by_model.iter().map(|b| &b.provider));
    for id in ids {
        assert!(
            client
                .registry()
                .resolve(&format!("{id}/some-model"))
                .is_ok(),
            "litellm.toml names an unknown provider {id}"
        );
    }
}

#[test]
fn litellms_provider_prefixes_become_switchboards_ids() {
    // Every prefix of the data file, and one its model prefixes send elsewhere.
    let map = super::mapping().unwrap();
    assert!(!map.providers.is_empty());
    for (theirs, ours) in &map.providers {
        assert_eq!(
            super::litellm_model(&format!("{theirs}/some/model:tag")).unwrap(),
            format!("{ours}/some/model:tag")
        );
    }
    for b in &map.by_model {
        let m = format!("{}/{}x", b.litellm, b.model_prefix);
        assert_eq!(
            super::litellm_model(&m).unwrap(),
            format!("{}/{}x", b.provider, b.model_prefix)
        );
    }
    // Names without a litellm prefix come back as they are.
    for same in ["no-such-prefix/m", "bare-model"] {
        assert_eq!(super::litellm_model(same).unwrap(), same);
    }
}
