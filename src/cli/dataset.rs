//! `nqp dataset list | delete | undelete | purge | audit | recover`: manage stored datasets from
//! the shell.
//!
//! Owns: the clap arguments and printing. Must not: touch files or SQL itself — every action is
//! one `Store` call, recorded in the audit log with the actor `cli`.

use std::io::Write;
use std::path::Path;

use clap::Subcommand;

use crate::store::Store;
use crate::types::DatasetId;

const ACTOR: &str = "cli";

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum DatasetCommand {
    /// List datasets and their versions (deleted ones marked).
    List,
    /// Hide a dataset from the dashboard; its versions are kept until a purge.
    Delete { id: DatasetId },
    /// Show a deleted dataset again.
    Undelete { id: DatasetId },
    /// Remove a deleted dataset's files and versions for good (the audit log keeps the record).
    Purge { id: DatasetId },
    /// Show the newest entries of the audit log.
    Audit {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Rebuild catalog entries from the dataset files' own metadata, after `catalog.sqlite` was
    /// lost or restored from an older backup. Stop `nqp serve` first.
    Recover,
}

pub fn run(data_dir: &Path, cmd: &DatasetCommand) -> anyhow::Result<()> {
    run_to(data_dir, cmd, &mut std::io::stdout().lock())
}

pub fn run_to(data_dir: &Path, cmd: &DatasetCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let open = || Store::open(data_dir);
    match cmd {
        DatasetCommand::List => {
            let store = open()?;
            for info in store.datasets(true)? {
                let mark = if info.deleted { " (deleted)" } else { "" };
                writeln!(
                    out,
                    "{}{mark}: {} / {}",
                    info.id, info.title_zh, info.title_en
                )?;
                for v in store.versions(&info.id)? {
                    writeln!(
                        out,
                        "  v{} {} {} rows {} by {} — {}",
                        v.number,
                        &v.hash[..12.min(v.hash.len())],
                        v.created_at.format("%Y-%m-%d %H:%M"),
                        v.rows,
                        v.created_by,
                        v.note
                    )?;
                }
            }
        }
        DatasetCommand::Delete { id } => {
            open()?.delete_dataset(id, ACTOR)?;
            writeln!(
                out,
                "deleted {id} (history kept; `nqp dataset purge {id}` removes it)"
            )?;
        }
        DatasetCommand::Undelete { id } => {
            open()?.undelete_dataset(id, ACTOR)?;
            writeln!(out, "restored {id}")?;
        }
        DatasetCommand::Purge { id } => {
            open()?.purge_dataset(id, ACTOR)?;
            writeln!(out, "purged {id}")?;
        }
        // Not through `Store::open`, which refuses to start on the very catalog this repairs.
        DatasetCommand::Recover => recover(data_dir, out)?,
        DatasetCommand::Audit { limit } => {
            for e in open()?.audit_log(*limit)? {
                writeln!(
                    out,
                    "{} {} {} {} {}",
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.action,
                    e.target,
                    e.detail
                )?;
            }
        }
    }
    Ok(())
}

fn recover(data_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let report = Store::recover(data_dir)?;
    writeln!(
        out,
        "recovered {} version(s) into {}",
        report.recovered.len(),
        data_dir.join("catalog.sqlite").display()
    )?;
    for version in &report.recovered {
        writeln!(out, "  + {version}")?;
    }
    writeln!(
        out,
        "{} version(s) were in the catalog already",
        report.known
    )?;
    for (path, reason) in &report.skipped {
        writeln!(out, "left as is: {} — {reason}", path.display())?;
    }
    writeln!(
        out,
        "tokens, sessions and deletions are not in the files: `nqp serve` prints a new admin \
         token if the catalog has none; delete again what had been deleted"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewVersion;
    use crate::types::Panel;
    use polars::prelude::*;

    fn run_text(dir: &Path, cmd: DatasetCommand) -> anyhow::Result<String> {
        let mut out = Vec::new();
        run_to(dir, &cmd, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn delete_undelete_purge_round() {
        let dir = tempfile::tempdir().unwrap();
        let id = DatasetId::new("demo").unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let panel = Panel::new(
                df!("region" => ["A"], "year" => [2020i32], "indicator" => ["x"], "value" => [1.0])
                    .unwrap(),
            )
            .unwrap();
            store
                .put_version(
                    NewVersion {
                        dataset: &id,
                        base: crate::store::Base::New,
                        title_zh: "演示",
                        title_en: "Demo",
                        panel: &panel,
                        framework_toml: "",
                        region_set_id: None,
                        source_files: &[],
                        note: "test",
                        revisions: &[],
                    },
                    "test",
                )
                .unwrap();
        }
        let list = run_text(dir.path(), DatasetCommand::List).unwrap();
        assert!(
            list.starts_with("demo: 演示 / Demo") && list.contains("v1"),
            "{list}"
        );
        // Purging a dataset that is not deleted is refused: delete first.
        assert!(run_text(dir.path(), DatasetCommand::Purge { id: id.clone() }).is_err());
        run_text(dir.path(), DatasetCommand::Delete { id: id.clone() }).unwrap();
        assert!(
            run_text(dir.path(), DatasetCommand::List)
                .unwrap()
                .contains("demo (deleted)")
        );
        run_text(dir.path(), DatasetCommand::Undelete { id: id.clone() }).unwrap();
        run_text(dir.path(), DatasetCommand::Delete { id: id.clone() }).unwrap();
        run_text(dir.path(), DatasetCommand::Purge { id: id.clone() }).unwrap();
        assert!(!dir.path().join("datasets/demo/1.parquet").exists());
        let audit = run_text(dir.path(), DatasetCommand::Audit { limit: 10 }).unwrap();
        for action in ["put", "delete", "undelete", "purge"] {
            assert!(audit.contains(action), "{audit}");
        }
    }
}
