# shellcheck shell=bash
# tpm.sh: the tetra module for tpm, for bash (3.2 and later) and zsh.
#
# tetra's bootstrap.sh sources it as tetra/bash/tpm/tpm.sh; without tetra, source it from
# ~/.bashrc or ~/.zshrc (install.sh copies it to ~/.local/share/tpm/tpm.sh):
#   source ~/.local/share/tpm/tpm.sh
#
# It defines one function per tpm command, each running `tpm COMMAND "$@"` with the
# arguments untouched and returning tpm's exit code:
#   tetra_tpm_start  tetra_tpm_list  tetra_tpm_stop  tetra_tpm_restart  tetra_tpm_delete
#   tetra_tpm_reload tetra_tpm_scale
#   tetra_tpm_logs   tetra_tpm_ports tetra_tpm_init  tetra_tpm_dump     tetra_tpm_save
#   tetra_tpm_resurrect tetra_tpm_startup tetra_tpm_unstartup tetra_tpm_events
#   tetra_tpm_describe tetra_tpm_doctor tetra_tpm_monit tetra_tpm_export
#   tetra_tpm_help   tetra_tpm_completions tetra_tpm_serve tetra_tpm_flush
#   tetra_tpm_metrics
#   tetra_tpm        any command: `tetra_tpm stop web-3000`
# In an interactive bash or zsh (zsh: after compinit), Tab completes `tpm` and these
# functions: subcommands, flags, and the names of your processes.
#
# Variables it reads (and never sets):
#   TPM_BIN    the tpm binary: a path, or a command name looked up in PATH (default: tpm).
#              Read at each call; completion uses the binary found when this file was sourced.
#   TETRA_DIR  where tpm keeps its files (default: $HOME/tetra). Passed to tpm even when
#              it is not exported, as tetra's bootstrap leaves it.
# Besides the functions above it defines only helpers named _tetra_tpm_*, and the
# completion functions tpm's completion script defines (_clap_complete_tpm in bash,
# _clap_dynamic_completer_tpm in zsh). It sets no variable and no shell option, works
# under the caller's `set -euo pipefail`, and sourcing it again is harmless.

# Whether $1 names a program (a path, or a name in PATH); functions and aliases do not count.
_tetra_tpm_found() {
    if [ -n "${ZSH_VERSION-}" ]; then
        whence -p -- "$1" >/dev/null 2>&1
    else
        type -P -- "$1" >/dev/null 2>&1
    fi
}

# Runs the tpm binary with these arguments, untouched; returns its exit code.
_tetra_tpm_run() {
    if ! _tetra_tpm_found "${TPM_BIN:-tpm}"; then
        printf '%s\n' "tetra_tpm: cannot find the tpm binary (${TPM_BIN:-tpm})" \
            "  help: install it (./install.sh in a tpm clone), or set TPM_BIN to its path" >&2
        return 127
    fi
    # `command`: a function or alias named tpm is not the binary.
    if [ -n "${TETRA_DIR-}" ]; then
        TETRA_DIR="$TETRA_DIR" command "${TPM_BIN:-tpm}" ${1+"$@"}
    else
        command "${TPM_BIN:-tpm}" ${1+"$@"}
    fi
}

# ${1+"$@"} is "$@": some older bash releases under `set -u` reject a bare "$@" when there
# are no arguments.
tetra_tpm() { _tetra_tpm_run ${1+"$@"}; }
tetra_tpm_start() { _tetra_tpm_run start ${1+"$@"}; }
tetra_tpm_list() { _tetra_tpm_run list ${1+"$@"}; }
tetra_tpm_stop() { _tetra_tpm_run stop ${1+"$@"}; }
tetra_tpm_restart() { _tetra_tpm_run restart ${1+"$@"}; }
tetra_tpm_delete() { _tetra_tpm_run delete ${1+"$@"}; }
tetra_tpm_reload() { _tetra_tpm_run reload ${1+"$@"}; }
tetra_tpm_scale() { _tetra_tpm_run scale ${1+"$@"}; }
tetra_tpm_logs() { _tetra_tpm_run logs ${1+"$@"}; }
tetra_tpm_flush() { _tetra_tpm_run flush ${1+"$@"}; }
tetra_tpm_ports() { _tetra_tpm_run ports ${1+"$@"}; }
tetra_tpm_metrics() { _tetra_tpm_run metrics ${1+"$@"}; }
tetra_tpm_init() { _tetra_tpm_run init ${1+"$@"}; }
tetra_tpm_dump() { _tetra_tpm_run dump ${1+"$@"}; }
tetra_tpm_save() { _tetra_tpm_run save ${1+"$@"}; }
tetra_tpm_resurrect() { _tetra_tpm_run resurrect ${1+"$@"}; }
tetra_tpm_startup() { _tetra_tpm_run startup ${1+"$@"}; }
tetra_tpm_unstartup() { _tetra_tpm_run unstartup ${1+"$@"}; }
tetra_tpm_events() { _tetra_tpm_run events ${1+"$@"}; }
tetra_tpm_describe() { _tetra_tpm_run describe ${1+"$@"}; }
tetra_tpm_doctor() { _tetra_tpm_run doctor ${1+"$@"}; }
tetra_tpm_monit() { _tetra_tpm_run monit ${1+"$@"}; }
tetra_tpm_export() { _tetra_tpm_run export ${1+"$@"}; }
tetra_tpm_import() { _tetra_tpm_run import ${1+"$@"}; }
tetra_tpm_help() { _tetra_tpm_run help ${1+"$@"}; }
tetra_tpm_completions() { _tetra_tpm_run completions ${1+"$@"}; }
tetra_tpm_serve() { _tetra_tpm_run serve ${1+"$@"}; }

# Runs the given command with the names of the functions above appended (no word
# splitting: the caller's IFS may be anything).
_tetra_tpm_each_function() {
    "$@" tetra_tpm tetra_tpm_start tetra_tpm_list tetra_tpm_stop tetra_tpm_restart \
        tetra_tpm_delete tetra_tpm_logs tetra_tpm_ports tetra_tpm_init tetra_tpm_dump \
        tetra_tpm_save tetra_tpm_resurrect tetra_tpm_startup tetra_tpm_unstartup \
        tetra_tpm_events tetra_tpm_describe tetra_tpm_doctor tetra_tpm_monit \
        tetra_tpm_export tetra_tpm_help tetra_tpm_completions tetra_tpm_serve \
        tetra_tpm_reload tetra_tpm_scale tetra_tpm_flush tetra_tpm_metrics \
        tetra_tpm_import
}

# Completion. The binary writes the registration for the running shell
# (`COMPLETE=bash tpm`), naming itself by its full path, so Tab works even when TPM_BIN
# is not in PATH. The wrappers below complete `tetra_tpm_stop we` as `tpm stop we`.

# bash: complete -F calls it with the command's name, the word, and the previous word.
_tetra_tpm_complete_bash() {
    local sub="${COMP_WORDS[0]#tetra_tpm}"
    sub="${sub#_}"
    if [ -n "$sub" ]; then
        COMP_WORDS=(tpm "$sub" "${COMP_WORDS[@]:1}")
        COMP_CWORD=$((COMP_CWORD + 1))
    else
        COMP_WORDS[0]=tpm
    fi
    if [ -n "${TETRA_DIR-}" ]; then
        local -x TETRA_DIR="$TETRA_DIR"
    fi
    _clap_complete_tpm tpm "${2-}" "${3-}"
}

# zsh: `words` and `CURRENT` are the completion system's; other completers
# (_sudo, _nice) rewrite them the same way.
_tetra_tpm_complete_zsh() {
    local sub="${words[1]#tetra_tpm}"
    sub="${sub#_}"
    if [ -n "$sub" ]; then
        words=(tpm "$sub" "${words[@]:1}")
        CURRENT=$((CURRENT + 1))
    else
        words[1]=tpm
    fi
    if [ -n "${TETRA_DIR-}" ]; then
        local -x TETRA_DIR="$TETRA_DIR"
    fi
    _clap_dynamic_completer_tpm "$@"
}

_tetra_tpm_load_completion() {
    local bin script
    _tetra_tpm_found "${TPM_BIN:-tpm}" || return 0
    if [ -n "${ZSH_VERSION-}" ]; then
        # Without compinit there is no completion system to register with.
        typeset -f compdef >/dev/null 2>&1 || return 0
        bin=$(whence -p -- "${TPM_BIN:-tpm}") || return 0
        script=$(COMPLETE=zsh "$bin" 2>/dev/null) || return 0
        eval "$script" || return 0
        _tetra_tpm_each_function compdef _tetra_tpm_complete_zsh
    elif [ -n "${BASH_VERSION-}" ]; then
        bin=$(type -P -- "${TPM_BIN:-tpm}") || return 0
        script=$(COMPLETE=bash "$bin" 2>/dev/null) || return 0
        eval "$script" || return 0
        # The options clap's script gives `tpm` (nosort needs bash 4.4).
        if [ "${BASH_VERSINFO[0]}" -gt 4 ] ||
            { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -ge 4 ]; }; then
            _tetra_tpm_each_function complete -o nospace -o bashdefault -o nosort \
                -F _tetra_tpm_complete_bash
        else
            _tetra_tpm_each_function complete -o nospace -o bashdefault \
                -F _tetra_tpm_complete_bash
        fi
    fi
    return 0
}

# Only interactive shells complete: scripts that source tetra do not pay for it.
case $- in
*i*) _tetra_tpm_load_completion ;;
esac
