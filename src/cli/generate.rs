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
mod tests;
