//! Every litellm config key this import knows: the ones it maps, the ones
//! with no meaning here (a warning each), and the ones that protect money
//! or access and that Switchboard cannot honour, which it refuses rather
//! than ignore. Data only.

use crate::router::Strategy;

/// litellm's strategy names, and ours.
pub(super) const STRATEGIES: [(&str, Strategy); 6] = [
    ("simple-shuffle", Strategy::WeightedShuffle),
    ("least-busy", Strategy::LeastBusy),
    ("usage-based-routing", Strategy::UsageBased),
    ("usage-based-routing-v2", Strategy::UsageBased),
    ("latency-based-routing", Strategy::LatencyBased),
    ("cost-based-routing", Strategy::LowestCost),
];

pub(super) const TOP_KEYS: [&str; 4] = [
    "model_list",
    "router_settings",
    "litellm_settings",
    "general_settings",
];
/// Top-level litellm sections with no meaning here.
pub(super) const TOP_IGNORED: [&str; 7] = [
    "environment_variables",
    "callback_settings",
    "credential_list",
    "mcp_servers",
    "search_tools",
    "vector_store_registry",
    "files_settings",
];
/// Top-level sections that guard calls: refused.
pub(super) const TOP_REFUSED: [&str; 1] = ["guardrails"];

pub(super) const ENTRY_KEYS: [&str; 3] = ["model_name", "litellm_params", "model_info"];

pub(super) const PARAM_KEYS: [&str; 18] = [
    "model",
    "api_key",
    "api_base",
    "rpm",
    "tpm",
    "weight",
    "timeout",
    "max_parallel_requests",
    "mock_response",
    "custom_llm_provider",
    "extra_headers",
    "headers",
    "order",
    "drop_params",
    "additional_drop_params",
    "allowed_openai_params",
    "input_cost_per_token",
    "output_cost_per_token",
];
/// `litellm_params` keys that are request fields: its calls get them
/// when they do not set them.
pub(super) const REQUEST_DEFAULTS: [&str; 9] = [
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "seed",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "reasoning_effort",
];
/// `litellm_params` keys litellm knows that change nothing here.
pub(super) const PARAM_IGNORED: [&str; 10] = [
    "stream_timeout",
    "max_retries",
    "input_cost_per_second",
    "output_cost_per_second",
    "tags",
    "use_in_pass_through",
    "use_litellm_proxy",
    "merge_reasoning_content_in_choices",
    "cache_control_injection_points",
    "model_info",
];

pub(super) const ROUTER_KEYS: [&str; 14] = [
    "routing_strategy",
    "num_retries",
    "allowed_fails",
    "cooldown_time",
    "timeout",
    "retry_after",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "enable_pre_call_checks",
    "default_fallbacks",
    "max_fallbacks",
    "model_group_alias",
    "drop_params",
];
/// `router_settings` keys litellm knows that change nothing here.
pub(super) const ROUTER_IGNORED: [&str; 20] = [
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_url",
    "redis_db",
    "cache_responses",
    "cache_kwargs",
    "routing_strategy_args",
    "provider_budget_config",
    "default_litellm_params",
    "retry_policy",
    "allowed_fails_policy",
    "model_group_retry_policy",
    "disable_cooldowns",
    "set_verbose",
    "debug_level",
    "enable_tag_filtering",
    "default_max_parallel_requests",
    "optional_pre_call_checks",
    "polling_interval",
];

/// `litellm_settings` keys that mean something here; the section's other
/// keys configure the litellm library itself and are warned about.
pub(super) const LITELLM_KEYS: [&str; 8] = [
    "num_retries",
    "request_timeout",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
    "drop_params",
    "model_group_alias",
];
/// `litellm_settings` keys that cap spending or guard calls proxy-wide:
/// refused (a budget belongs on virtual keys here: `/key/generate`
/// `max_budget`).
pub(super) const LITELLM_REFUSED: [&str; 4] = [
    "max_budget",
    "budget_duration",
    "guardrails",
    "max_end_user_budget",
];

pub(super) const GENERAL_KEYS: [&str; 4] = [
    "master_key",
    "database_url",
    "max_request_size_mb",
    "allowed_ips",
];
/// `general_settings` keys that decide who may call: refused.
pub(super) const GENERAL_REFUSED: [&str; 8] = [
    "custom_auth",
    "enable_jwt_auth",
    "litellm_jwtauth",
    "allowed_routes",
    "admin_only_routes",
    "public_routes",
    "enforce_user_param",
    "max_budget",
];

/// Why a refused key stops the server.
pub(super) const REFUSED_WHY: &str = "it protects money or access, Switchboard cannot honour it, and it is never silently ignored: remove it (and enforce it in front of the proxy; a budget goes on virtual keys, /key/generate max_budget) to start";
