# fish completion for tpm; written by `tpm completions fish`, do not edit.
# At each Tab, fish runs `COMPLETE=fish tpm -- WORDS...`, which answers with tpm's
# subcommands, flags, and the names of your processes with their status. Install this
# file as ~/.config/fish/completions/tpm.fish, or load it now:
#   tpm completions fish | source
complete --keep-order --exclusive --command tpm --arguments "(COMPLETE=fish tpm -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
