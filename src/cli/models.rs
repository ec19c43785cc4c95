//! `switchboard models`: the catalog's models with prices, limits and capabilities.

use std::process::ExitCode;

use serde_json::json;

use crate::cost::Catalog;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only this provider's models.
    #[arg(long)]
    provider: Option<String>,
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
    let rows: Vec<_> = catalog
        .models()
        .into_iter()
        .filter(|(p, _, _)| args.provider.as_deref().is_none_or(|want| want == *p))
        .collect();
    if rows.is_empty() {
        eprintln!(
            "no models{}",
            args.provider
                .map(|p| format!(" for provider {p:?}"))
                .unwrap_or_default()
        );
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
                info.capabilities.join(",")
            );
        }
    }
    ExitCode::SUCCESS
}
