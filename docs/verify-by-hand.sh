#!/bin/sh
# verify-by-hand.sh: check jukiterm's artifacts as a third party would, with Debian's
# age, openssl and sqlite3 and a small verifier built from golang.org/x/mod alone
# (docs/verify-by-hand/, built here with `go build`). Nothing of jukiterm's code is
# run. The byte layouts are in docs/backup.md, docs/provision.md and docs/oplog.md.
#
# usage: verify-by-hand.sh -k SIGNING_PUB.pem [options]
#   -K STORAGE_KEY              the state directory's storage.key (for -r and -t)
#   -r SECRET                   the recovery secret as shown (dashes allowed): it must open
#                               the recovery part of -K and of the -b backup's manifest
#                               with age alone (docs/keys.md)
#   -t TPM_SOCKET               the (simulated) TPM's command socket: the storage key of -K
#                               must be sealed to the TPM's current PCR values (tpm2-tools)
#   -b BACKUP -B AGE_IDENTITY   a .backup file and an identity of backup_recipients
#   -p DIR -P AGE_IDENTITY      a provision's directory on the medium and the
#                               recipient's identity
#   -c CHECKPOINT               an exported checkpoint (repeat, oldest first)
#   -s PROOF.json               `jukiterm audit consistency OLD NEW --json` between two
#                               consecutive -c checkpoints (repeat, in the same order)
#   -i PROOF.json               `jukiterm audit prove N --size M --json`, M being the
#                               size of one of the -c checkpoints
# It prints one OK line per check and exits 0, or prints FAIL and exits 1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
key= backup= backup_id= prov= prov_id= cps= proofs= incl= keyfile= secret= tpm=
while getopts k:b:B:p:P:c:s:i:K:r:t: opt; do
	case $opt in
	K) keyfile=$OPTARG ;;
	r) secret=$OPTARG ;;
	t) tpm=$OPTARG ;;
	k) key=$OPTARG ;;
	b) backup=$OPTARG ;;
	B) backup_id=$OPTARG ;;
	p) prov=$OPTARG ;;
	P) prov_id=$OPTARG ;;
	c) cps="$cps $OPTARG" ;;
	s) proofs="$proofs $OPTARG" ;;
	i) incl="$incl $OPTARG" ;;
	*) echo "usage: $0 -k SIGNING_PUB.pem [-b BACKUP -B IDENTITY] [-p DIR -P IDENTITY] [-c CP]... [-s PROOF]... [-i PROOF]... [-K KEYFILE [-r SECRET] [-t TPM_SOCKET]]" >&2; exit 2 ;;
	esac
done
[ -n "$key" ] || { echo "give the terminal's public key: -k signing.pub" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "OK: $*"; }
# u BYTES FILE OFFSET: the big-endian unsigned integer of BYTES bytes at OFFSET.
u() { od -An -v -tu1 -j "$3" -N "$1" "$2" | awk '{for (i = 1; i <= NF; i++) n = n * 256 + $i} END {printf "%.0f\n", n}'; }
# field JSONFILE PATH: a JSON value (sqlite3's JSON functions).
field() { sqlite3 -batch :memory: "SELECT json_extract(readfile('$1'), '$2')"; }
sha() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
# recovery JSONFILE PREFIX WHAT: the recovery part at PREFIX of a key file or manifest
# must open with the recovery secret (age reads a passphrase only from a terminal:
# script(1) gives it one) and hold a 32-byte storage key.
recovery() {
	r="$work/recovery"
	rm -rf "$r" && mkdir "$r"
	field "$1" "$2.recovery_identity" | base64 -d >"$r/identity.age"
	field "$1" "$2.recovery" | base64 -d >"$r/key.age"
	# The passphrase is the secret as shown, without dashes or spaces, in upper case.
	pass=$(printf '%s' "$secret" | tr -d ' -' | tr '[:lower:]' '[:upper:]')
	printf '%s\n' "$pass" | script -qec "age -d -o '$r/identity.txt' '$r/identity.age'" /dev/null >/dev/null 2>&1 || true
	[ -s "$r/identity.txt" ] || fail "$3: the recovery secret does not open its recovery identity"
	[ "$(age-keygen -y "$r/identity.txt")" = "$(field "$1" "$2.recovery_recipient")" ] ||
		fail "$3: the recovery identity is not the recovery recipient it names"
	age -d -i "$r/identity.txt" "$r/key.age" >"$r/key.bin" 2>/dev/null || fail "$3: its storage key does not decrypt with the recovery identity"
	[ "$(wc -c <"$r/key.bin")" -eq 32 ] || fail "$3: its recovered storage key is not 32 bytes"
	rm -rf "$r"
	ok "$3: the recovery secret opens the recovery identity; the storage key decrypts (32 bytes)"
}

# --- A backup: split, signature, payload hash, decryption, the SQLite copy ---------
if [ -n "$backup" ]; then
	[ -n "$backup_id" ] || fail "a backup needs -B AGE_IDENTITY"
	b="$work/backup"
	mkdir "$b"
	[ "$(head -c 16 "$backup")" = "JUKITERM-BACKUP" ] || fail "$backup does not start with JUKITERM-BACKUP\\n"
	total=$(wc -c <"$backup")
	mlen=$(u 4 "$backup" 16)
	[ $((20 + mlen)) -le "$total" ] || fail "$backup: truncated in its manifest"
	plen=$(u 8 "$backup" $((20 + mlen)))
	[ $((28 + mlen + plen + 2)) -le "$total" ] || fail "$backup: truncated in its payload"
	slen=$(u 2 "$backup" $((28 + mlen + plen)))
	[ $((30 + mlen + plen + slen)) -eq "$total" ] || fail "$backup: $total bytes, its lengths say $((30 + mlen + plen + slen))"
	tail -c +17 "$backup" | head -c $((4 + mlen)) >"$b/manifest-with-length"
	tail -c +21 "$backup" | head -c "$mlen" >"$b/manifest.json"
	tail -c +$((29 + mlen)) "$backup" | head -c "$plen" >"$b/payload.age"
	tail -c +$((31 + mlen + plen)) "$backup" >"$b/signature.der"
	# Signed: SHA-256 of the label, the manifest with its length, the payload's SHA-256.
	{ printf 'jukiterm backup signature v1\n'; cat "$b/manifest-with-length"; openssl dgst -sha256 -binary "$b/payload.age"; } >"$b/signed"
	openssl dgst -sha256 -verify "$key" -signature "$b/signature.der" "$b/signed" >/dev/null ||
		fail "$backup: the signature does not verify with $key"
	ok "backup signature ($mlen bytes of manifest, $plen of payload)"
	[ "$(field "$b/manifest.json" '$.payload_sha256')" = "$(sha "$b/payload.age")" ] || fail "$backup: the payload's SHA-256 is not the manifest's"
	[ "$(field "$b/manifest.json" '$.payload_bytes')" = "$plen" ] || fail "$backup: the payload's length is not the manifest's"
	age -d -i "$backup_id" -o "$b/copy.db" "$b/payload.age" || fail "$backup: the payload does not decrypt with $backup_id"
	[ "$(sqlite3 -batch "$b/copy.db" 'PRAGMA integrity_check')" = ok ] || fail "$backup: the copy fails SQLite's integrity check"
	got=$(sqlite3 -batch -separator ' ' "$b/copy.db" "SELECT (SELECT COALESCE(MAX(update_seq), 0) FROM notifications),
		(SELECT COUNT(*) FROM persons WHERE removed = 0), (SELECT COUNT(*) FROM persons WHERE removed = 1),
		(SELECT user_version FROM pragma_user_version())")
	want="$(field "$b/manifest.json" '$.update_seq') $(field "$b/manifest.json" '$.persons') $(field "$b/manifest.json" '$.persons_removed') $(field "$b/manifest.json" '$.schema_version')"
	[ "$got" = "$want" ] || fail "$backup: the copy holds update_seq, persons, removed, schema $got; the manifest says $want"
	ok "backup payload decrypts; integrity ok; update_seq persons removed schema = $got as the manifest says"
	[ -z "$secret" ] || recovery "$b/manifest.json" '$.storage_key' "$backup"
fi

# --- The key file: the recovery secret, and the seal to the TPM's PCRs -------------
if [ -n "$secret$tpm" ]; then
	[ -n "$keyfile" ] || fail "-r and -t need the key file: -K storage.key"
	[ -z "$secret" ] || recovery "$keyfile" '$' "$keyfile"
fi
if [ -n "$tpm" ]; then
	export TPM2TOOLS_TCTI="swtpm:path=$tpm"
	field "$keyfile" '$.sealed.public' | base64 -d >"$work/sealed.pub"
	# The sealed object's policy (TPM2B_PUBLIC) against a PolicyPCR digest the TPM
	# computes over its current values of the PCRs the key file names.
	want=$(tpm2_print -t TPM2B_PUBLIC "$work/sealed.pub" | sed -n 's/^authorization policy: //p')
	pcrs=$(sqlite3 -batch :memory: "SELECT group_concat(value, ',') FROM json_each(readfile('$keyfile'), '$.sealed.pcrs')")
	[ -n "$want" ] && [ -n "$pcrs" ] || fail "$keyfile: no sealed object with a PCR policy"
	tpm2_createpolicy --policy-pcr -l "sha256:$pcrs" -L "$work/policy" >/dev/null || fail "tpm2_createpolicy over $tpm"
	got=$(od -An -v -tx1 "$work/policy" | tr -d ' \n')
	[ "$got" = "$want" ] || fail "$keyfile: sealed to the PCR policy $want, but the TPM's PCRs sha256:$pcrs now give $got"
	ok "storage key sealed to the TPM's current PCRs sha256:$pcrs (policy $got)"
fi

# --- A provision on a medium: manifest signature, every file's hash, decryption ------
if [ -n "$prov" ]; then
	[ -n "$prov_id" ] || fail "a provision needs -P AGE_IDENTITY"
	m="$prov/manifest.json"
	openssl dgst -sha256 -verify "$key" -signature "$m.sig" "$m" >/dev/null || fail "$prov: the manifest's signature does not verify with $key"
	ok "provision manifest signature"
	listed=$(sqlite3 -batch -separator ' ' :memory: "SELECT json_extract(value, '$.name'), json_extract(value, '$.size'), json_extract(value, '$.sha256') FROM json_each(readfile('$m'), '$.files')")
	[ -n "$listed" ] || fail "$prov: the manifest lists no file"
	echo "$listed" | while read -r name size sum; do
		[ -f "$prov/$name" ] || fail "$prov: $name is missing"
		[ "$(wc -c <"$prov/$name")" -eq "$size" ] || fail "$prov: $name is not $size bytes"
		[ "$(sha "$prov/$name")" = "$sum" ] || fail "$prov: $name does not have the manifest's SHA-256"
	done
	n=$(ls -A "$prov" | wc -l)
	[ "$n" -eq $(($(echo "$listed" | wc -l) + 2)) ] || fail "$prov: it holds other files than the manifest lists"
	ok "provision files: $(echo "$listed" | cut -d' ' -f1 | tr '\n' ' ')match the manifest"
	for f in results not-found; do
		age -d -i "$prov_id" -o "$work/$f.csv" "$prov/$f.csv.age" || fail "$prov: $f.csv.age does not decrypt with $prov_id"
	done
	rows=$(($(wc -l <"$work/results.csv") - 1))
	[ "$rows" -eq "$(field "$m" '$.counts.matched_rows')" ] || fail "$prov: results.csv has $rows rows, the manifest says otherwise"
	ok "provision decrypts: results.csv has $rows rows as the manifest says"
fi

# --- Checkpoints and proofs: the verifier built from golang.org/x/mod ------------------
if [ -n "$cps$proofs$incl" ]; then
	(cd "$here/verify-by-hand" && go build -o "$work/verify-tlog" .) || fail "go build of docs/verify-by-hand"
	v="$work/verify-tlog"
	prev=
	set -- $proofs
	for cp in $cps; do
		"$v" checkpoint "$key" "$cp" || fail "checkpoint $cp"
		# The same signature with openssl: the note's text, and the signature line's
		# base64 without its 4-byte key hash.
		sed -n '/^$/q;p' "$cp" >"$work/text"
		grep '^— ' "$cp" | head -n 1 | cut -d' ' -f3 | base64 -d | tail -c +5 >"$work/sig"
		openssl dgst -sha256 -verify "$key" -signature "$work/sig" "$work/text" >/dev/null || fail "checkpoint $cp: openssl does not verify its signature"
		if [ -n "$prev" ]; then
			[ $# -gt 0 ] || fail "no consistency proof (-s) from $prev to $cp"
			"$v" consistency "$key" "$prev" "$cp" "$1" || fail "consistency $prev → $cp"
			shift
		fi
		prev=$cp
	done
	for p in $incl; do
		size=$(field "$p" '$.tree_size')
		match=
		for cp in $cps; do
			[ "$(sed -n 2p "$cp")" = "$size" ] && match=$cp
		done
		[ -n "$match" ] || fail "$p: no checkpoint (-c) of $size entries to check it against"
		"$v" inclusion "$key" "$match" "$p" || fail "inclusion $p"
	done
fi
echo "All checks passed."
