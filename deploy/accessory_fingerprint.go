package deploy

import (
	"slices"
)

// AccessoryFingerprint is what defines accessory name's container, part
// by part (see Fingerprint): "image", "cmd", "env.NAME" for each clear
// value, "secret.NAME" for each secret (its digest from secrets, or
// unknown when secrets lacks it), "volumes", "ports", "file./PATH" for
// each file, "labels", "restart", "memory", "cpus", "user",
// "extra-hosts", "init", "network". Its container carries it in
// LabelFingerprint, and a plan compares it with what runs there.
//
// A file's part is a hash of its content, as an env value's is: keep a
// credential in Env.Secret, not in a file (the Litestream sidecar's
// config names its credentials by env var and holds none).
func AccessoryFingerprint(a App, name string, secrets SecretDigests) Fingerprint {
	acc := a.Accessories[name]
	parts := map[string]any{
		"image":       acc.Image,
		"cmd":         nilIfEmpty(acc.Cmd),
		"volumes":     nilIfEmpty(acc.Volumes),
		"ports":       nilIfEmpty(acc.Ports),
		"labels":      nilIfEmptyMap(acc.Labels),
		"restart":     orDefault(acc.Options.Restart, "unless-stopped"),
		"memory":      nilIfZero(acc.Options.Memory),
		"cpus":        nilIfZero(acc.Options.CPUs),
		"user":        nilIfZero(acc.Options.User),
		"extra-hosts": nilIfEmpty(acc.Options.ExtraHosts),
		"init":        nilIfZero(acc.Options.Init),
		"network":     a.network(),
	}
	if l := a.loggingNote(name); l != nil { // the default adds no part
		parts["logging"] = *l
	}
	if acc.StopTimeout > 0 {
		parts["stop-timeout"] = acc.StopTimeout
	}
	for k, v := range acc.Env.Clear {
		parts["env."+k] = v
	}
	for p, content := range acc.Files {
		parts["file."+p] = content
	}
	return FingerprintOf(parts).With(secrets.Parts(slices.Sorted(slices.Values(acc.Env.Secret))))
}

// nilIfEmpty is a list as a fingerprint part: nil, left out, when empty.
func nilIfEmpty[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// nilIfEmptyMap is a map as a fingerprint part: nil when empty.
func nilIfEmptyMap[K comparable, V any](m map[K]V) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// nilIfZero is a scalar as a fingerprint part: nil at its zero value.
func nilIfZero[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}
