//! `switchboard embed`: embeddings from the terminal or a script.

use std::process::ExitCode;

use super::{CallArgs, print_json, read_json, run_async};
use crate::{EmbeddingInput, EmbeddingRequest, Error};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    call: CallArgs,
    /// Texts to embed, when no request file is given.
    input: Vec<String>,
}

pub(crate) fn run(args: Args) -> ExitCode {
    run_async(args.call.json, call(args))
}

async fn call(args: Args) -> Result<(), Error> {
    let mut req: EmbeddingRequest = match &args.call.request_file {
        Some(path) => read_json(path, "an embeddings request")?,
        None if !args.input.is_empty() => EmbeddingRequest {
            input: EmbeddingInput::Many(args.input.clone()),
            ..Default::default()
        },
        None => return Err(Error::bad_request("give texts or --request-file")),
    };
    req.model = args.call.model_or(&req.model)?;
    let (client, opts) = args.call.client()?;
    let resp = client.embedding(&req, &opts).await?;
    if args.call.json {
        print_json(&resp)
    } else {
        for d in &resp.data {
            let n = d.embedding.as_array().map_or(0, Vec::len);
            println!("#{}: {n} dimensions", d.index);
        }
        Ok(())
    }
}
