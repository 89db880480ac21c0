//! `o365fwd generate`: shell completions and the man page, from the same clap definition the
//! binary parses with, so packages never ship documentation of another version.

use std::io::Write;

use clap::{CommandFactory, Subcommand};

#[derive(Subcommand, Debug)]
pub enum Generate {
    /// Print the completion script for a shell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), section 1.
    Man,
}

pub fn run(what: Generate) -> anyhow::Result<i32> {
    let out = render(&what)?;
    std::io::stdout().write_all(&out)?;
    Ok(super::exit::OK)
}

fn render(what: &Generate) -> anyhow::Result<Vec<u8>> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    match what {
        Generate::Completions { shell } => {
            clap_complete::generate(*shell, &mut cmd, "o365fwd", &mut out);
        }
        Generate::Man => clap_mangen::Man::new(cmd).render(&mut out)?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible_subcommands() -> Vec<String> {
        super::super::Cli::command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_string())
            .collect()
    }

    #[test]
    fn man_page_and_bash_completion_mention_every_subcommand() {
        let subs = visible_subcommands();
        assert!(subs.len() >= 5, "{subs:?}");
        let man = String::from_utf8(render(&Generate::Man).unwrap()).unwrap();
        assert!(
            man.starts_with(".ie") || man.contains(".TH o365fwd 1"),
            "{man}"
        );
        let bash = String::from_utf8(
            render(&Generate::Completions {
                shell: clap_complete::Shell::Bash,
            })
            .unwrap(),
        )
        .unwrap();
        assert!(bash.contains("complete -F _o365fwd"), "{bash}");
        for s in &subs {
            // roff escapes the dashes of a name (`filter\-test`).
            let roff = s.replace('-', "\\-");
            assert!(
                man.contains(&format!("o365fwd\\-{roff}"))
                    || man.contains(&format!("\\fB{roff}\\fR")),
                "man page lacks {s}"
            );
            assert!(
                bash.contains(&format!("o365fwd,{s})")),
                "bash completion lacks {s}"
            );
        }
        assert!(
            man.contains("log\\-format"),
            "man page lacks the global options"
        );
    }
}
