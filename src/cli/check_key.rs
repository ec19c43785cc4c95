//! `switchboard check-key`: does a key work? Valid, invalid (and why), or
//! cannot tell (the provider was not reachable).

use std::process::ExitCode;

use super::{CallArgs, runtime};
use crate::Error;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    call: CallArgs,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let outcome = (|| -> Result<crate::KeyCheck, Error> {
        let model = args.call.model_or("")?;
        let (client, opts) = args.call.client()?;
        let rt = runtime().map_err(|e| Error::new(crate::ErrorKind::Internal, e.to_string()))?;
        Ok(rt.block_on(client.check_key(&model, &opts)))
    })();
    let check = match outcome {
        Ok(c) => c,
        Err(e) => crate::KeyCheck {
            valid: None,
            reason: e.to_string(),
        },
    };
    if args.call.json {
        println!("{}", serde_json::to_string(&check).unwrap_or_default());
    } else {
        let verdict = match check.valid {
            Some(true) => "valid",
            Some(false) => "invalid",
            None => "unknown",
        };
        println!("{verdict}: {}", check.reason);
    }
    match check.valid {
        Some(true) => ExitCode::SUCCESS,
        Some(false) => ExitCode::FAILURE,
        None => ExitCode::from(2),
    }
}
