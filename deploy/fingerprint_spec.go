package deploy

import (
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// The env values the executor adds to every release container. They name
// the version and the container, which the container's name and labels
// already say, so they are not fingerprinted: a replacement keeps them.
const (
	envVersion   = "SLIPWAY_VERSION"
	envContainer = "SLIPWAY_CONTAINER"
)

// specFingerprint is the Fingerprint of the container spec makes, with
// secrets the names of the secrets it gets and digests their keyed
// digests (a name without one is unknown, ""). The parts are:
//
//   - "image": the image reference (the image ID is compared apart, see
//     State.imageChanged);
//   - "env.NAME": one per clear env value, envVersion and envContainer
//     excepted;
//   - "secret.NAME": one per secret, its digest;
//   - one part per other field of engine.ContainerSpec, named after the
//     field in lower case with dashes ("cmd", "memory", "cpus",
//     "extra-hosts", "stop-timeout", "log-options", "labels", "network",
//     "volumes"...), nil when the field is zero.
//
// The fields are read by reflection, so a field someone adds to
// engine.ContainerSpec, and sets in specOf, is compared from then on
// without anyone remembering to; being nil while zero, it does not change
// the fingerprint of containers that do not use it. Name is left out: the
// planner compares containers of one name.
func specFingerprint(spec engine.ContainerSpec, secrets []string, digests SecretDigests) Fingerprint {
	parts := map[string]any{}
	v := reflect.ValueOf(spec)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		switch f.Name {
		case "Name", "Env":
			continue
		case "Labels":
			labels := map[string]string{}
			for k, val := range spec.Labels {
				if k != LabelFingerprint {
					labels[k] = val
				}
			}
			parts["labels"] = labels
			continue
		}
		if fv := v.Field(i); !fv.IsZero() {
			parts[partName(f.Name)] = fv.Interface()
		}
	}
	for _, kv := range spec.Env {
		k, val, _ := strings.Cut(kv, "=")
		if k == envVersion || k == envContainer {
			continue
		}
		parts["env."+k] = val
	}
	return FingerprintOf(parts).With(digests.Parts(secrets))
}

// stepFingerprint is the Fingerprint of the container a start step of
// version makes (see specOf), its secrets' digests taken from digests.
func stepFingerprint(a App, version string, st Step, digests SecretDigests) Fingerprint {
	return specFingerprint(specOf(a, version, st), st.Secrets, digests)
}

// partName writes a Go field name as a fingerprint part: "Memory" as
// "memory", "ExtraHosts" as "extra-hosts", "CPUs" as "cpus".
func partName(field string) string {
	var b strings.Builder
	prev := rune(0)
	for _, c := range field {
		if unicode.IsUpper(c) && unicode.IsLower(prev) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(c))
		prev = c
	}
	return b.String()
}

// asideMark is what the name of a container set aside by a replacement
// holds (see AsideName).
const asideMark = "-replaced-"

// AsideName is the name a replaced container is renamed to so that its
// successor can take its name: "hello-web-v1-replaced-3f2a1b9c", after
// the first 8 hex digits of its ID. A container so named keeps its role
// and version labels: it is an older container like any other, stopped
// and retained up to App.Retain, and never started again by name.
func AsideName(name, id string) string {
	return name + asideMark + id[:min(8, len(id))]
}

// uncompared lists, sorted, the secrets of a's roles that r has no digest
// of, when a fingerprinted container of the release runs to compare with.
func uncompared(a App, r Release, state State) []string {
	compared := false
	for _, hs := range state.Hosts {
		for _, c := range hs.Containers {
			if c.Role != "" && c.Destination == a.Destination && c.Version == r.Version && c.Fingerprint != nil {
				compared = true
			}
		}
	}
	if !compared {
		return nil
	}
	var out []string
	for _, role := range a.roleNames() {
		for _, s := range a.Roles[role].Servers {
			_, secrets := a.envFor(role, s.Host)
			for _, n := range secrets {
				if _, ok := r.Secrets[n]; !ok && !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// proxyParts are the parts of a web role's container that its
// kamal-proxy route holds: the route's settings ("proxy": hosts, TLS,
// health check, timeouts, buffering, redirects, path prefix, the app
// port) and the digests of its custom certificate's secrets. A changed
// route or a rotated certificate replaces the container, whose gated
// proxy-deploy then applies the route and writes the certificate. nil for
// a role without a proxy.
func proxyParts(a App, role string, digests SecretDigests) Fingerprint {
	px := a.Roles[role].Proxy
	if px == nil {
		return nil
	}
	svc := *proxyDeploy(a, role, "", "")
	svc.Target, svc.TLSCertificatePath, svc.TLSPrivateKeyPath = "", "", "" // they name the container
	f := FingerprintOf(map[string]any{"proxy": svc, "app-port": px.appPort()})
	var certs []string
	for _, name := range []string{px.TLSCertificate, px.TLSPrivateKey} {
		if name != "" {
			certs = append(certs, name)
		}
	}
	return f.With(digests.Parts(certs))
}
