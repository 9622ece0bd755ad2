# bash completion for herd: its commands, their options, and section.key=value settings with
# the choices of each option (algorithm, model and runtime names among them), read from the
# herd being completed (`herd config --keys`), so a program built on herd (examples/extend)
# completes its own models and algorithms too. Installed by cmake --install as
# PREFIX/share/bash-completion/completions/herd; in a shell: source tools/herd-completion.bash
_herd_option_table() {
  "$1" config --keys 2> /dev/null
}

_herd() {
  local herd=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "run sweep tune table plot config --help" -- "$cur"))
    return
  fi
  local command=${COMP_WORDS[1]}
  # key=value: bash splits the word at '=' (COMP_WORDBREAKS), so the key is a word before.
  local key=""
  if [[ $cur == "=" ]]; then
    key=$prev cur=""
  elif [[ $prev == "=" ]] && ((COMP_CWORD >= 3)); then
    key=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  if [[ -n $key ]]; then
    local choices
    choices=$(_herd_option_table "$herd" | awk -v k="$key" '$1 == k { $1 = ""; print }')
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
    return
  fi
  case $prev in
    --out | -o | --resume) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --x) COMPREPLY=($(compgen -W "time grads rounds bytes epoch" -- "$cur")); return ;;
    --logy) COMPREPLY=($(compgen -W "auto on off" -- "$cur")); return ;;
    --by) COMPREPLY=($(compgen -W "time_to_target final:" -- "$cur")); return ;;
    --entry | --seeds | --jobs | -j | --title | --y | --grid | --budget | --plot | --speedup)
      return ;;
  esac
  local options
  case $command in
    run) options="--out --force --entry --resume --help" ;;
    sweep) options="--zip --seeds --jobs --out --plot --speedup --help" ;;
    tune) options="--grid --by --budget --seeds --jobs --out --help" ;;
    plot) options="--output --x --y --title --logy --help" ;;
    table) options="--help" ;;
    config) options="--markdown --keys --help" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi
  case $command in
    run | sweep | tune)
      local keys
      keys=$(_herd_option_table "$herd" | awk '{ print $1 "=" }')
      COMPREPLY=($(compgen -W "$keys" -- "$cur") $(compgen -f -X '!*.toml' -- "$cur")
        $(compgen -d -S / -- "$cur"))
      # A key=... or a directory goes on without a space.
      [[ ${#COMPREPLY[@]} -gt 0 && ${COMPREPLY[0]} == *[=/] ]] && compopt -o nospace 2> /dev/null
      ;;
    table | plot) COMPREPLY=($(compgen -d -- "$cur")) ;;
  esac
}
complete -F _herd herd
