//! `switchboard providers`: every provider spec, its key variable,
//! endpoints and streaming; `--markdown` prints the table the README holds
//! (a test fails when the README's copy is stale).

use std::process::ExitCode;

use crate::spec::Registry;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print the Markdown table of the README.
    #[arg(long)]
    markdown: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let registry = match Registry::builtin() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", table(&registry, args.markdown));
    ExitCode::SUCCESS
}

/// The provider table, as Markdown or as aligned text.
pub fn table(registry: &Registry, markdown: bool) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let rows: Vec<[String; 6]> = registry
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
            ]
        })
        .collect();
    let head = ["id", "name", "key", "chat", "stream", "embeddings"];
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
            "{:<18} {:<28} {:<30} {:<5} {:<6} {}\n",
            head[0], head[1], head[2], head[3], head[4], head[5]
        ));
        for r in &rows {
            let key = r[2].trim_matches('`');
            out.push_str(&format!(
                "{:<18} {:<28} {:<30} {:<5} {:<6} {}\n",
                r[0], r[1], key, r[3], r[4], r[5]
            ));
        }
    }
    out
}
