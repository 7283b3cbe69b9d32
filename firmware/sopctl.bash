# bash completion for sopctl: installed as
# /usr/share/bash-completion/completions/sopctl.
_sopctl()
{
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-u|--url|--cacert) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	-u|--url) COMPREPLY=($(compgen -W "http://127.0.0.1:8080" -- "$cur")); return ;;
	--state) COMPREPLY=($(compgen -W "open acknowledged resolved closed active" -- "$cur")); return ;;
	--severity) COMPREPLY=($(compgen -W "critical high medium low info" -- "$cur")); return ;;
	-c|--cacert) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	case $cmd in
	"")
		COMPREPLY=($(compgen -W "list show ack resolve note stats health
		    parse windows window expectations report schedule backup hosts
		    set export audit firmware
		    -u --url --cacert -j --json -h --help -V --version" -- "$cur")) ;;
	list)
		COMPREPLY=($(compgen -W "--state --severity --host --rule
		    --limit --all" -- "$cur")) ;;
	ack|resolve|note)
		COMPREPLY=($(compgen -W "-m --actor" -- "$cur")) ;;
	set)
		COMPREPLY=($(compgen -W "--impact --workaround --eta --actor" -- "$cur")) ;;
	audit)
		COMPREPLY=($(compgen -W "--limit" -- "$cur")) ;;
	export)
		COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
	window)
		COMPREPLY=($(compgen -W "show add cancel --id --start --end
		    --title --hosts --group --approved" -- "$cur")) ;;
	report)
		COMPREPLY=($(compgen -W "daily weekly monthly stored --date --job
		    --format" -- "$cur")) ;;
	parse)
		COMPREPLY=($(compgen -W "-c" -- "$cur")) ;;
	backup)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	firmware)
		if [ "$prev" = install ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -W "status install" -- "$cur"))
		fi ;;
	esac
}
complete -F _sopctl sopctl
