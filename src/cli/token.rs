//! `nqp token create | list | revoke`: manage the API tokens that may change data.
//!
//! Owns: the token subcommand's arguments and its console output. Must not: touch the catalog
//! itself — every change goes through `crate::store::Store`, which keeps only hashes and
//! writes the audit row. Safe to run while `nqp serve` uses the same data dir.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;

use crate::store::Store;

/// Actor recorded in the audit log for changes made from the command line.
const CLI_ACTOR: &str = "cli";

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// What the token is for, e.g. "ci" or "alice's laptop".
        #[arg(long)]
        name: String,
    },
    /// List tokens (id, name, created, revoked) — never the tokens themselves.
    List,
    /// Revoke a token by id; its browser sessions end too.
    Revoke {
        /// The id shown by `nqp token list`.
        id: i64,
    },
}

/// Run a token subcommand against the store in `data_dir`, printing to stdout.
pub fn run(data_dir: &Path, cmd: &TokenCommand) -> anyhow::Result<()> {
    run_to(data_dir, cmd, &mut std::io::stdout().lock())
}

/// [`run`] with the output going to `out` (tests capture it).
pub fn run_to(data_dir: &Path, cmd: &TokenCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let store = Store::open(data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    match cmd {
        TokenCommand::Create { name } => {
            let (info, token) = store.create_token(name, CLI_ACTOR)?;
            writeln!(
                out,
                "Created token {} ({}). Copy it now; it is not shown again:",
                info.id, info.name
            )?;
            writeln!(out, "{token}")?;
        }
        TokenCommand::List => {
            let tokens = store.list_tokens()?;
            if tokens.is_empty() {
                writeln!(out, "No tokens.")?;
            }
            for t in tokens {
                let status = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M UTC")),
                    None => "active".to_owned(),
                };
                writeln!(
                    out,
                    "{:>4}  {}  {:<24}  {}",
                    t.id,
                    t.created_at.format("%Y-%m-%d %H:%M UTC"),
                    t.name,
                    status
                )?;
            }
        }
        TokenCommand::Revoke { id } => {
            let info = store.revoke_token(*id, CLI_ACTOR)?;
            writeln!(out, "Revoked token {} ({}).", info.id, info.name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_captured(dir: &Path, cmd: TokenCommand) -> String {
        let mut out = Vec::new();
        run_to(dir, &cmd, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn create_list_revoke_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let created = run_captured(dir.path(), TokenCommand::Create { name: "ci".into() });
        let token = created.lines().nth(1).unwrap();
        assert!(created.starts_with("Created token 1 (ci)."), "{created}");
        assert_eq!(token.len(), 64);

        let listed = run_captured(dir.path(), TokenCommand::List);
        assert!(
            listed.contains("   1  ") && listed.contains("ci") && listed.contains("active"),
            "{listed}"
        );
        assert!(!listed.contains(token), "list never shows a token");

        let revoked = run_captured(dir.path(), TokenCommand::Revoke { id: 1 });
        assert_eq!(revoked, "Revoked token 1 (ci).\n");
        assert!(run_captured(dir.path(), TokenCommand::List).contains("revoked "));
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.verify_token(token).unwrap(), None);
        assert_eq!(store.audit_log(1).unwrap()[0].actor, "cli");

        let mut out = Vec::new();
        let err = run_to(dir.path(), &TokenCommand::Revoke { id: 7 }, &mut out).unwrap_err();
        assert!(err.to_string().contains("token not found: 7"), "{err}");
    }

    #[test]
    fn list_says_when_there_are_no_tokens() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run_captured(dir.path(), TokenCommand::List), "No tokens.\n");
    }
}
