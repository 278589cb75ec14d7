package deploy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/slipwayhq/slipway/secret"
)

// LabelFingerprint is the label that carries a container's Fingerprint
// (Fingerprint.Label): every container Slipway makes has it, so the next
// plan can tell what changed since the container was made.
const LabelFingerprint = "slipway.fingerprint"

// partLen is how many hex digits of a part's hash a fingerprint keeps:
// 48 bits, plenty to tell one definition from the next, and short enough
// that a container's label stays readable.
const partLen = 12

// Fingerprint is what defines a container, part by part, as a short hash
// of each: "image", "cmd", "env.NAME" (one part per clear env value),
// "secret.NAME" (a keyed digest of the secret's value, see SecretDigests),
// "memory", "volumes", "labels", "network", "proxy" and so on. It holds
// only hashes, never a value: a label made from it shows no env value and
// no secret.
//
// A part whose hash is "" is unknown (a secret whose digest the plan was
// not given, as in an offline plan) and is left out of comparisons.
type Fingerprint map[string]string

// FingerprintOf hashes each part's value (anything encoding/json takes;
// map keys are sorted, so equal values give equal hashes) into a
// Fingerprint. A part whose value is nil is left out, so a field at its
// zero value can be passed as nil and adding a field to what defines a
// container does not change the fingerprint of containers that don't use
// it.
func FingerprintOf(parts map[string]any) Fingerprint {
	f := make(Fingerprint, len(parts))
	for k, v := range parts {
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("deploy: fingerprint part %s: %v", k, err)) // a programming error: parts are plain data
		}
		f[k] = hashHex(sha256.Sum256(b))
	}
	return f
}

// With returns a copy of f with more parts, such as the "secret.NAME"
// digests of SecretDigests.Parts.
func (f Fingerprint) With(parts Fingerprint) Fingerprint {
	out := maps.Clone(f)
	if out == nil {
		out = Fingerprint{}
	}
	maps.Copy(out, parts)
	return out
}

// Label encodes f as LabelFingerprint's value: "part=hash" pairs, sorted,
// comma-separated.
func (f Fingerprint) Label() string {
	var b strings.Builder
	for i, k := range sortedKeys(f) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(f[k])
	}
	return b.String()
}

// ParseFingerprint reads a LabelFingerprint value back. An empty label
// (a container made before Slipway fingerprinted containers) gives nil;
// pairs that do not parse are skipped, so a label from a newer Slipway
// with parts this one does not know still compares on the parts it does.
func ParseFingerprint(label string) Fingerprint {
	if label == "" {
		return nil
	}
	f := Fingerprint{}
	for _, pair := range strings.Split(label, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if ok && k != "" {
			f[k] = v
		}
	}
	return f
}

// Changes says why a container made with the running fingerprint differs
// from one made with f, one reason per part, sorted by part: "image
// changed", "env LOG_LEVEL changed", "env DEBUG added", "secret
// SECRET_KEY_BASE rotated", "memory changed". Unknown parts ("" on
// either side) are skipped. An empty running fingerprint (a container
// made before fingerprints) gives no reason: it is taken as it is.
func (f Fingerprint) Changes(running Fingerprint) []string {
	if len(running) == 0 {
		return nil
	}
	keys := map[string]bool{}
	for k := range f {
		keys[k] = true
	}
	for k := range running {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		want, inF := f[k]
		have, inRunning := running[k]
		if inF && inRunning && (want == "" || have == "" || want == have) {
			continue // unchanged, or unknown on one side
		}
		out = append(out, changeReason(k, inF, inRunning))
	}
	return out
}

// changeReason words one part's change.
func changeReason(part string, inF, inRunning bool) string {
	kind, name, named := strings.Cut(part, ".")
	if !named {
		return part + " changed"
	}
	verb := "changed"
	switch {
	case !inRunning:
		verb = "added"
	case !inF:
		verb = "removed"
	case kind == "secret":
		verb = "rotated"
	}
	return kind + " " + name + " " + verb
}

// SecretDigests are keyed digests of secret values by name: what a
// Fingerprint records of a secret, so that rotating a secret's value
// replaces the containers that use it while neither the value nor a plain
// hash of it is ever written down. The key stays with the app (the
// Session keeps it beside the deploy lock); without it a digest tells
// nothing about the value.
type SecretDigests map[string]string

// DigestSecrets makes the digests of values with key: an HMAC-SHA256 of
// each name and value, cut to a fingerprint part's length.
func DigestSecrets(key []byte, values secret.Values) SecretDigests {
	d := make(SecretDigests, len(values))
	for name, v := range values {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(name))
		m.Write([]byte{0})
		m.Write([]byte(v))
		var sum [sha256.Size]byte
		copy(sum[:], m.Sum(nil))
		d[name] = hashHex(sum)
	}
	return d
}

// Parts returns the "secret.NAME" fingerprint parts of names: each one's
// digest, or "" (unknown) for a name d does not hold.
func (d SecretDigests) Parts(names []string) Fingerprint {
	f := make(Fingerprint, len(names))
	for _, n := range names {
		f["secret."+n] = d[n]
	}
	return f
}

func hashHex(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:])[:partLen]
}
