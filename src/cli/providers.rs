//! `switchboard providers`: every provider spec, its key variable,
//! endpoints and streaming; `--markdown` prints the table the README holds
//! (a test fails when the README's copy is stale). `--params P` (or
//! `providers P --params`) lists the OpenAI parameters provider (or model)
//! `P` carries, one a line (`--json`: a JSON list).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::spec::Registry;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A provider id or a model (with --params).
    provider: Option<String>,
    /// List the OpenAI request parameters a provider (or a model's provider) carries.
    #[arg(long, value_name = "PROVIDER", num_args = 0..=1, default_missing_value = "")]
    params: Option<String>,
    /// With --params: print a JSON list.
    #[arg(long)]
    json: bool,
    /// A directory of extra or overriding provider specs.
    #[arg(long)]
    spec_dir: Option<PathBuf>,
    /// Print the Markdown table of the README.
    #[arg(long)]
    markdown: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let registry = match &args.spec_dir {
        Some(dir) => Registry::with_dir(dir),
        None => Registry::builtin(),
    };
    let registry = match registry {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let wanted = args
        .params
        .as_deref()
        .filter(|p| !p.is_empty())
        .or(args.provider.as_deref());
    if args.params.is_none() && args.provider.is_none() {
        print!("{}", table(&registry, args.markdown));
        return ExitCode::SUCCESS;
    }
    let Some(wanted) = wanted.filter(|_| args.params.is_some()) else {
        eprintln!(
            "error: name a provider with --params PROVIDER (or: providers PROVIDER --params)"
        );
        return ExitCode::from(2);
    };
    match registry.supported_openai_params(wanted) {
        Ok(list) if args.json => {
            println!("{}", serde_json::Value::from(list));
            ExitCode::SUCCESS
        }
        Ok(list) => {
            for p in list {
                println!("{p}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The provider table, as Markdown or as aligned text.
pub(crate) fn table(registry: &Registry, markdown: bool) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let rows: Vec<[String; 7]> = registry
        .specs()
        .iter()
        .map(|s| {
            [
                s.id().to_string(),
                s.name().to_string(),
                s.key_env().map_or("-".to_string(), |e| format!("`{e}`")),
                yes(s.chats()).to_string(),
                yes(s.streams()).to_string(),
                yes(s.embeds()).to_string(),
                yes(s.counts_tokens()).to_string(),
            ]
        })
        .collect();
    let head = [
        "id",
        "name",
        "key",
        "chat",
        "stream",
        "embeddings",
        "count tokens",
    ];
    let mut out = String::new();
    if markdown {
        out.push_str(&format!(
            "| {} |\n|{}\n",
            head.join(" | "),
            "---|".repeat(head.len())
        ));
        for r in &rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
    } else {
        out.push_str(&format!(
            "{:<18} {:<28} {:<30} {:<5} {:<6} {:<10} {}\n",
            head[0], head[1], head[2], head[3], head[4], head[5], head[6]
        ));
        for r in &rows {
            let key = r[2].trim_matches('`');
            out.push_str(&format!(
                "{:<18} {:<28} {:<30} {:<5} {:<6} {:<10} {}\n",
                r[0], r[1], key, r[3], r[4], r[5], r[6]
            ));
        }
    }
    out
}
