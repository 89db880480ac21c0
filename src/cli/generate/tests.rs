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
            man.contains(&format!("o365fwd\\-{roff}")) || man.contains(&format!("\\fB{roff}\\fR")),
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
