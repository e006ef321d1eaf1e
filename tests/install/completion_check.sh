#!/usr/bin/env bash
# ctest install.bash_completion: the generated completion script (moedist completion bash)
# completes every command `moedist --help` lists and, for every command, exactly the flags its
# `--help` lists; flags are completed only after the command, and `moedist completion` refuses
# shells it cannot write for.
# Usage: completion_check.sh MOEDIST_EXE COMPLETION_SCRIPT
set -euo pipefail
exe=$1
script=$2
# shellcheck disable=SC1090
source "$script"
complete_words() {  # complete_words WORD... : the completions for the last word
  COMP_WORDS=(moedist "$@")
  COMP_CWORD=$#
  COMPREPLY=()
  _moedist
  printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
# The first column of a --help section ("Subcommands:" or "Options:"), one name a line.
help_column() {
  awk -v section="$1" '
    /^[A-Za-z].*:$/ { in_section = ($0 == section); next }
    in_section && /^  [^ ]/ { print $1 }' | sed 's/{[^}]*}//g' | tr ',' '\n' | grep -v '^$' | sort -u
}
status=0
commands=$("$exe" --help | help_column "Subcommands:")
[ "$(wc -l <<<"$commands")" -ge 10 ] || { echo "FAIL: --help lists too few commands: $commands"; exit 1; }
got=$(complete_words "")
if [ "$got" != "$(printf '%s\n' $commands --help -h --version | sort -u)" ]; then
  echo "FAIL: top-level completion differs from --help:"
  diff <(printf '%s\n' $commands --help -h --version | sort -u) <(echo "$got") || true
  status=1
fi
echo "commands: $(echo $commands)"
for c in $commands; do
  want=$("$exe" "$c" --help | help_column "Options:")
  got=$(complete_words "$c" "-")
  if [ "$got" != "$want" ]; then
    echo "FAIL: flags of $c differ from its --help:"; diff <(echo "$want") <(echo "$got") || true
    status=1
  fi
done
# Narrowing: one flag prefix of one command, and no flags before a command is named.
[ "$(complete_words pack --recip)" = "--recipe" ] || { echo "FAIL: pack --recip"; status=1; }
[ -z "$(complete_words inspect file)" ] || { echo "FAIL: a path argument completed to words"; status=1; }
echo "pack flags: $(complete_words pack - | tr '\n' ' ')"
if "$exe" completion zsh >/dev/null 2>&1; then echo "FAIL: completion zsh accepted"; status=1; fi
exit $status
