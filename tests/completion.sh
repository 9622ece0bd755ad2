#!/usr/bin/env bash
# tools/herd-completion.bash against the herd it completes: commands, options, keys, choices.
#   tests/completion.sh HERD SOURCE_DIR
set -euo pipefail
herd=$1
source "$2/tools/herd-completion.bash"
complete_words() {  # the words of a command line being completed (the last one at the cursor)
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  _herd
  printf '%s\n' "${COMPREPLY[@]}"
}
expect() {  # expect WORD COMMAND-LINE...: WORD is among the completions
  local word=$1 found
  shift
  found=$(complete_words "$@")
  grep -qx -- "$word" <<< "$found" || {
    echo "completing '$*': no '$word' in: $(tr '\n' ' ' <<< "$found")"
    exit 1
  }
}
expect run "$herd" r
expect sweep "$herd" sw
expect --resume "$herd" run --re
expect --seeds "$herd" sweep config.toml --se
expect algo.name= "$herd" run config.toml algo.na
expect algo.lr= "$herd" run config.toml algo.l
# Algorithm names, models and runtimes, from the option table.
for name in local_sgd lsgd rescaled_asgd asgd minibatch_sgd; do
  expect "$name" "$herd" run config.toml algo.name = ""
done
expect local_sgd "$herd" run config.toml algo.name = loc
expect rescaled_asgd "$herd" run config.toml algo.name = resc
expect sim "$herd" run config.toml run.runtime = s
expect quadratic "$herd" sweep config.toml model.name = q
expect true "$herd" run config.toml eval.test = t
[[ $(complete_words "$herd" run config.toml algo.name = loc | wc -l) -eq 1 ]]
echo "bash completion: commands, options, keys and choices complete"
