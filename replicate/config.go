package replicate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config renders a litestream.yml (Litestream v0.5 keys) for the replicas,
// for the Litestream CLI or a sidecar. Credentials appear only as ${VAR}
// references that Litestream expands from its environment, so the file
// holds no secret and may be printed. Replicas sharing one file must agree
// on snapshot interval and retention, which v0.5 sets for the whole file.
// An Unguarded replica gets the key slipway-unguarded, which Slipway's
// sidecar (replicate/cmd/slipway-litestream) reads.
func Config(replicas ...Replica) ([]byte, error) {
	if len(replicas) == 0 {
		return nil, errors.New("render litestream.yml: no replica given")
	}
	var errs []error
	for i, r := range replicas {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("replica %d (%s): %w", i, r.DB, err))
		}
		if r.snapshotInterval() != replicas[0].snapshotInterval() || r.retention() != replicas[0].retention() {
			errs = append(errs, fmt.Errorf("replica %d (%s): SnapshotInterval and Retention must match replica 0's in one litestream.yml", i, r.DB))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("render litestream.yml: %w", err)
	}

	var b bytes.Buffer
	b.WriteString("# litestream.yml rendered by Slipway (Litestream v0.5).\n")
	b.WriteString("# Credentials are ${VAR} references Litestream expands from its environment.\n")
	fmt.Fprintf(&b, "snapshot:\n  interval: %s\n  retention: %s\n", duration(replicas[0].snapshotInterval()), duration(replicas[0].retention()))
	b.WriteString("dbs:\n")
	for _, r := range replicas {
		fmt.Fprintf(&b, "  - path: %s\n", quote(r.DB))
		b.WriteString("    replica:\n")
		if s := r.S3; s != nil {
			b.WriteString("      type: s3\n")
			fmt.Fprintf(&b, "      bucket: %s\n", quote(s.Bucket))
			fmt.Fprintf(&b, "      path: %s\n", quote(s.path(r.DB)))
			fmt.Fprintf(&b, "      region: %s\n", quote(s.region()))
			if s.Endpoint != "" {
				fmt.Fprintf(&b, "      endpoint: %s\n", quote(s.Endpoint))
			}
			fmt.Fprintf(&b, "      force-path-style: %t\n", s.pathStyle())
			fmt.Fprintf(&b, "      access-key-id: ${%s}\n", s.accessKeyIDVar())
			fmt.Fprintf(&b, "      secret-access-key: ${%s}\n", s.secretAccessKeyVar())
		} else {
			b.WriteString("      type: file\n")
			fmt.Fprintf(&b, "      path: %s\n", quote(r.dir()))
		}
		fmt.Fprintf(&b, "      sync-interval: %s\n", duration(r.syncInterval()))
		if r.Unguarded {
			// Slipway's sidecar reads it; Litestream ignores keys it does not know.
			b.WriteString("      slipway-unguarded: true\n")
		}
	}
	return b.Bytes(), nil
}

// quote leaves plain words bare and double-quotes anything YAML could
// read as something else (a JSON string is a valid YAML scalar).
func quote(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-", c)) {
			plain = false
			break
		}
	}
	if plain && !strings.ContainsAny(s[:1], "-.") {
		return s
	}
	q, _ := json.Marshal(s)
	return string(q)
}

// duration writes d the short way ("1s", "24h", "1h30m"), which
// time.ParseDuration and so Litestream read back.
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
