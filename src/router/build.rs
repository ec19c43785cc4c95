//! Building a Router: its deployments from a config (each with the prices
//! it is billed at: the catalog's, or its own `input-cost-per-token` /
//! `output-cost-per-token` over them), and the groups a fallback may name
//! that no deployment declares: a plain model (`provider/model` or a bare
//! name) is an implicit one-deployment group, its key from its provider's
//! environment variable. One named in the config is made once and keeps its
//! state; one named only by a call is made for that call.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::config::{DeploymentConfig, RouterConfig, Settings};
use super::deployment::Deployment;
use super::{Clock, Rng, Router, TokioClock};
use crate::client::{CallOptions, Client};
use crate::cost::ModelInfo;
use crate::error::{Error, ErrorKind, Result};

/// One deployment to build: its group, id, model, call options and limits.
pub(super) struct Member {
    pub(super) group: String,
    pub(super) id: String,
    pub(super) model: String,
    pub(super) options: CallOptions,
    pub(super) weight: f64,
    /// rpm, tpm, max parallel.
    pub(super) limits: (Option<u64>, Option<u64>, Option<u64>),
    /// Its own per-token prices (USD), over the catalog's entry.
    pub(super) token_prices: (Option<f64>, Option<f64>),
    /// Its priority in the group (lower first).
    pub(super) order: Option<u32>,
}

impl Router {
    /// A Router over `config`, calling through `client`, on real time.
    pub fn new(client: Client, config: RouterConfig) -> Result<Self> {
        Self::with_clock(
            client,
            config,
            Arc::new(TokioClock::default()),
            Rng::from_time(),
        )
    }

    /// Same, with an injected clock and random source (for deterministic tests).
    pub fn with_clock(
        client: Client,
        config: RouterConfig,
        clock: Arc<dyn Clock>,
        rng: Rng,
    ) -> Result<Self> {
        config.router.check()?;
        let members = config
            .deployments
            .iter()
            .enumerate()
            .map(|(n, d)| {
                Ok(Member {
                    group: d.group.clone(),
                    id: d.id_at(n),
                    model: d.model.clone(),
                    options: d.call_options(&config.router)?,
                    weight: d.weight,
                    limits: (d.rpm, d.tpm, d.max_parallel),
                    token_prices: (d.input_cost_per_token, d.output_cost_per_token),
                    order: d.order,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::assemble(client, config.router, members, clock, rng)
    }

    /// A Router of `members` under `settings`; every group a fallback table
    /// names exists, as declared or as an implicit group of a plain model.
    pub(super) fn assemble(
        client: Client,
        settings: Settings,
        members: Vec<Member>,
        clock: Arc<dyn Clock>,
        rng: Rng,
    ) -> Result<Self> {
        let mut groups: HashMap<String, Vec<Arc<Deployment>>> = HashMap::new();
        for m in members {
            let (spec, _) = client.registry().resolve(&m.model)?;
            if let Some(name) = m
                .options
                .params
                .keys()
                .find(|n| !spec.params.iter().any(|p| &p.name == *n))
            {
                return Err(Error::bad_request(format!(
                    "deployment {:?}: {} takes no parameter {name:?}",
                    m.id,
                    spec.name()
                )));
            }
            let mut options = m.options;
            let info = match &options.price {
                Some(own) => Some(own.clone()),
                None => price_of(&client, &m.model, m.token_prices, &m.id)?,
            };
            if m.token_prices != (None, None) {
                options.price = info.clone();
            }
            let mut d = Deployment::new(m.id, m.model, options, m.weight, m.limits, info);
            d.order = m.order;
            groups.entry(m.group).or_default().push(Arc::new(d));
        }
        let mut settings = settings;
        for group in groups.keys() {
            if settings.fallbacks.contains_key(group) {
                continue;
            }
            let list: Vec<String> = settings
                .default_fallbacks
                .iter()
                .filter(|f| *f != group)
                .cloned()
                .collect();
            if !list.is_empty() {
                settings.fallbacks.insert(group.clone(), list);
            }
        }
        for (alias, target) in &settings.model_group_alias {
            if groups.contains_key(alias) || !groups.contains_key(target) {
                return Err(Error::bad_request(format!(
                    "router model-group-alias: {alias:?} → {target:?} must name a group that exists, under a name no group has"
                )));
            }
        }
        let mut router = Router {
            client,
            groups,
            implicit: HashMap::new(),
            settings,
            clock,
            rng,
            shared: None,
            cool_lock: Mutex::new(()),
        };
        let s = &router.settings;
        let mut implicit = HashMap::new();
        let tables = [
            ("fallbacks", &s.fallbacks),
            ("context-window-fallbacks", &s.context_window_fallbacks),
            ("content-policy-fallbacks", &s.content_policy_fallbacks),
        ];
        for (kind, table) in tables {
            for name in table.values().flatten() {
                if router.groups.contains_key(name) || implicit.contains_key(name) {
                    continue;
                }
                let made = router.implicit_group(name).map_err(|e| {
                    Error::bad_request(format!(
                        "router {kind}: {name:?} is neither a model group nor a model ({})",
                        e.message()
                    ))
                })?;
                implicit.insert(name.clone(), made);
            }
        }
        for (kind, table) in tables {
            if let Some(name) = table
                .keys()
                .find(|k| !router.groups.contains_key(*k) && !implicit.contains_key(*k))
            {
                return Err(Error::bad_request(format!(
                    "router {kind}: no deployments in group {name:?}"
                )));
            }
        }
        router.implicit = implicit;
        Ok(router)
    }

    /// The deployments of `group`: a declared group's; for a fallback, an
    /// implicit group made at build or, for a plain model only this call
    /// names, one made now.
    pub(super) fn members(&self, group: &str, first: bool) -> Result<Cow<'_, [Arc<Deployment>]>> {
        if let Some(m) = self.groups.get(group) {
            return Ok(Cow::Borrowed(m));
        }
        let unknown = |why: String| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "no model group {group:?} (groups: {}){why}",
                    self.groups().join(", ")
                ),
            )
        };
        if first {
            return Err(unknown(String::new()));
        }
        if let Some(m) = self.implicit.get(group) {
            return Ok(Cow::Borrowed(m));
        }
        self.implicit_group(group)
            .map(Cow::Owned)
            .map_err(|e| unknown(format!(", nor a model: {}", e.message())))
    }

    /// A one-deployment group for the plain model `model`, with the
    /// Router's limits and the key of its provider's environment variable.
    fn implicit_group(&self, model: &str) -> Result<Vec<Arc<Deployment>>> {
        self.client.registry().resolve(model)?;
        let options = DeploymentConfig::new(model, model).call_options(&self.settings)?;
        let info = price_of(&self.client, model, (None, None), model)?;
        let d = Deployment::new(
            model.to_string(),
            model.to_string(),
            options,
            1.0,
            (None, None, None),
            info,
        );
        Ok(vec![Arc::new(d)])
    }
}

/// The entry `model` is priced and checked at: the client's, with its own
/// per-token prices over it when it has some; None when nothing is known.
fn price_of(
    client: &Client,
    model: &str,
    (input, output): (Option<f64>, Option<f64>),
    who: &str,
) -> Result<Option<Arc<ModelInfo>>> {
    let known = client.model_info(model).cloned();
    if input.is_none() && output.is_none() {
        return Ok(known.map(Arc::new));
    }
    known
        .unwrap_or_default()
        .with_token_prices(input, output)
        .map(|i| Some(Arc::new(i)))
        .map_err(|e| Error::bad_request(format!("deployment {who:?}: {}", e.message())))
}
