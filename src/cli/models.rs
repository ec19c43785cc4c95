//! `switchboard models`: the catalog's models with prices, limits and capabilities.

use std::process::ExitCode;

use serde_json::json;

use crate::cost::Catalog;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only this provider's models.
    #[arg(long)]
    provider: Option<String>,
    /// Only models whose `provider/model` name contains this text (any case).
    #[arg(long, short = 's')]
    search: Option<String>,
    /// Leave out models their provider has retired.
    #[arg(long)]
    current: bool,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let catalog = match Catalog::builtin() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let search = args.search.as_deref().map(str::to_lowercase);
    let rows: Vec<_> = catalog
        .models()
        .into_iter()
        .filter(|(p, _, _)| args.provider.as_deref().is_none_or(|want| want == *p))
        .filter(|(p, m, _)| {
            search
                .as_deref()
                .is_none_or(|s| format!("{p}/{m}").to_lowercase().contains(s))
        })
        .filter(|(_, _, i)| !(args.current && i.retired))
        .collect();
    if rows.is_empty() {
        let mut what = Vec::new();
        if let Some(p) = &args.provider {
            what.push(format!("provider {p:?}"));
        }
        if let Some(s) = &args.search {
            what.push(format!("names containing {s:?}"));
        }
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(" for {}", what.join(" and "))
        };
        eprintln!("no models{what}");
        return ExitCode::FAILURE;
    }
    let price = |v: Option<f64>| v.map_or("-".to_string(), |p| format!("{p}"));
    if !args.json {
        println!(
            "{:<45} {:>9} {:>9} {:>9} {:>10} capabilities",
            "model", "input/M", "output/M", "cached/M", "context"
        );
    }
    for (provider, model, info) in rows {
        if args.json {
            println!(
                "{}",
                json!({"provider": provider, "model": model, "info": info})
            );
        } else {
            println!(
                "{:<45} {:>9} {:>9} {:>9} {:>10} {}",
                format!("{provider}/{model}"),
                price(info.input),
                price(info.output),
                price(info.cached_input),
                info.context_window
                    .map_or("-".to_string(), |c| c.to_string()),
                info.capabilities.join(",") + if info.retired { " (retired)" } else { "" }
            );
        }
    }
    ExitCode::SUCCESS
}
