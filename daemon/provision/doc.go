// Package provision makes and opens bulk provisions (一括提供) of identity records to
// other executive bodies on issued media: the request CSV they send (FORMATS.md §5),
// the items a recipient may receive, the encrypted and signed output written to a
// medium's volume, and its verification and decryption by the recipient.
//
// On the medium a provision is the directory jukiterm/ID/ holding results.csv.age and
// not-found.csv.age (age-encrypted to the recipient), provision.log (no personal data),
// manifest.json.sig and manifest.json, written in that order so that a manifest exists
// only for complete output. The layout is in docs/provision.md.
package provision
