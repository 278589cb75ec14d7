package kamal_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/kamal"
	"github.com/slipwayhq/slipway/secret"
)

// kamalBase is the smallest valid Kamal config; the inputs below add to it.
const kamalBase = "service: hello\nimage: acme/hello\nservers: [10.0.0.1]\n"

// kamalManyKeys is a config whose labels hold n keys: 80,000 make about 1 MB.
func kamalManyKeys(n int) string {
	var b strings.Builder
	b.WriteString(kamalBase + "labels:\n")
	for i := range n {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	return b.String()
}

// kamalMergeFanOut is a config of about size bytes where each level
// merges the one below many times over and holds it under many keys, so
// that following every alias multiplies the values at each level.
func kamalMergeFanOut(size int) string {
	var b strings.Builder
	b.WriteString(kamalBase + "x-l0: &l0 {a: 1, b: 2}\n")
	for i := 1; b.Len() < size; i++ {
		fmt.Fprintf(&b, "x-l%d: &l%d\n  <<: [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 20), ", "))
		for j := range 20 {
			fmt.Fprintf(&b, "  n%d_%d: *l%d\n", i, j, i-1)
		}
	}
	return b.String()
}

// kamalSharedMerges merges one small map into many maps, many times
// each: what a real config does with "<<: *defaults", overdone.
func kamalSharedMerges(maps, fan int) string {
	var b strings.Builder
	b.WriteString(kamalBase + "x-defaults: &defaults {a: 1, b: 2}\n")
	for i := range maps {
		fmt.Fprintf(&b, "x-m%d: {<<: [%s], c: 3}\n", i, strings.TrimSuffix(strings.Repeat("*defaults, ", fan), ", "))
	}
	return b.String()
}

// kamalAccessoryHosts puts an accessory on n hosts, n/2 of them found
// by their tags, and gives every role host an env tag.
func kamalAccessoryHosts(n int) string {
	var b strings.Builder
	b.WriteString("service: hello\nimage: acme/hello\nservers:\n  web:\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, "    - h%d.example.com: [t%d, all]\n", i, i)
	}
	b.WriteString("env:\n  tags:\n    all: {A: b}\naccessories:\n  db:\n    image: redis\n    tags:\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, "      - t%d\n", i)
	}
	b.WriteString("    hosts:\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, "      - a%d.example.com\n", i)
	}
	return b.String()
}

// kamalLaughs is the "billion laughs": nine levels of lists, each of
// ten aliases of the level below.
func kamalLaughs() string {
	var b strings.Builder
	b.WriteString(kamalBase + "x-lol0: &lol0 lol\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x-lol%d: &lol%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*lol%d, ", i-1), 10), ", "))
	}
	return b.String()
}

// kamalMergeChain is n maps, each merging the one before and adding a
// key: the merges copy n²/2 keys.
func kamalMergeChain(n int) string {
	var b strings.Builder
	b.WriteString(kamalBase + "x-a0: &a0 {k0: v}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "x-a%d: &a%d {<<: *a%d, k%d: v}\n", i, i, i-1, i)
	}
	return b.String()
}

// kamalAliasDepth nests n lists, each holding an alias of the one before.
func kamalAliasDepth(n int) string {
	var b strings.Builder
	b.WriteString(kamalBase + "x-d0: &d0 [1]\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "x-d%d: &d%d [*d%d]\n", i, i, i-1)
	}
	return b.String()
}

// kamalWrittenDepth nests n flow lists as written.
func kamalWrittenDepth(n int) string {
	return kamalBase + "x-deep: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestLoadLimits(t *testing.T) {
	tests := []struct {
		name string
		yml  string
		// want is in the error; "" for a config that imports.
		want string
		// not must not be in the error.
		not string
		// maxMB bounds what the import allocates.
		maxMB uint64
	}{
		{
			name:  "refuses a file over MaxFileSize before parsing it",
			yml:   kamalBase + "# " + strings.Repeat("x", kamal.MaxFileSize) + "\n",
			want:  "config/deploy.yml: is larger than 1048576 bytes (MaxFileSize)",
			maxMB: 4,
		},
		{
			name:  "refuses 80,000 keys in 1 MB with MaxNodes",
			yml:   kamalManyKeys(80_000),
			want:  "holds more than 50000 YAML nodes (MaxNodes)",
			maxMB: 300,
		},
		{
			name:  "imports 20,000 keys, under the limits",
			yml:   kamalManyKeys(20_000),
			maxMB: 120,
		},
		{
			name:  "imports an accessory on 12,000 hosts, half of them by tag",
			yml:   kamalAccessoryHosts(12_000),
			maxMB: 120,
		},
		{
			name:  "refuses a 26 KB merge fan-out with MaxValues",
			yml:   kamalMergeFanOut(26 << 10),
			want:  `aliases and "<<" merge keys expand to more than 200000 values (MaxValues)`,
			maxMB: 16,
		},
		{
			name:  "imports a small map merged 100 times into each of 100 maps",
			yml:   kamalSharedMerges(100, 100),
			maxMB: 16,
		},
		{
			name:  "refuses the billion laughs with MaxValues",
			yml:   kamalLaughs(),
			want:  "(MaxValues)",
			maxMB: 4,
		},
		{
			name:  "refuses merges that copy keys quadratically",
			yml:   kamalMergeChain(1500),
			want:  "(MaxValues)",
			maxMB: 32,
		},
		{
			name:  "says depth for lists nested deeper than MaxDepth",
			yml:   kamalWrittenDepth(100),
			want:  "config/deploy.yml:4: maps and lists nest deeper than 64 levels (MaxDepth)",
			not:   "aliases",
			maxMB: 4,
		},
		{
			name:  "says depth for aliases that nest deeper than MaxDepth",
			yml:   kamalAliasDepth(100),
			want:  "makes maps and lists nest deeper than 64 levels (MaxDepth)",
			not:   "expand",
			maxMB: 4,
		},
		{
			name:  "says an anchor that holds its own alias never ends",
			yml:   kamalBase + "x-loop: &loop [1, *loop]\n",
			want:  "config/deploy.yml:4: anchor &loop holds an alias of itself",
			maxMB: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := deployYML(t, tt.yml)
			var err error
			bytes := allocated(func() { _, _, err = kamal.Load(dir, "") })
			assert.LessOrEqual(t, bytes>>20, tt.maxMB, "allocated %d MB", bytes>>20)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.not != "" {
				assert.NotContains(t, err.Error(), tt.not)
			}
			ke, ok := errors.AsType[*kamal.Error](err)
			require.True(t, ok, "%T: %v", err, err)
			assert.Contains(t, ke.File, "deploy.yml")
		})
	}
}

// kamalSecretsDoubling is a secrets file where each line doubles the one before.
func kamalSecretsDoubling(n int) string {
	var b strings.Builder
	b.WriteString("S0=0123456789abcdef\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "S%d=$S%d$S%d\n", i, i-1, i-1)
	}
	return b.String()
}

func TestSecretsLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("refuses a secrets file over MaxFileSize", func(t *testing.T) {
		dir := kamalProject(t, map[string]string{".kamal/secrets": "A=" + strings.Repeat("x", kamal.MaxFileSize) + "\n"})
		_, err := kamal.Secrets{Files: []string{dir + "/.kamal/secrets"}}.Secret(ctx, "A")
		require.Error(t, err)
		assert.Contains(t, err.Error(), ".kamal/secrets: is larger than 1048576 bytes (MaxFileSize)")
		assert.NotContains(t, err.Error(), "xxxx")
	})
	t.Run("says a secret that doubles past MaxSecretSize is missing", func(t *testing.T) {
		dir := kamalProject(t, map[string]string{".kamal/secrets": kamalSecretsDoubling(64)})
		src := kamal.Secrets{Files: []string{dir + "/.kamal/secrets"}}
		var err error
		bytes := allocated(func() { _, err = src.Secret(ctx, "S63") })
		assert.LessOrEqual(t, bytes>>20, uint64(32), "allocated %d MB", bytes>>20)
		require.ErrorIs(t, err, secret.ErrMissing)
		assert.Contains(t, err.Error(), "(MaxSecretSize)")
		assert.NotContains(t, err.Error(), "0123456789abcdef")
		v, err := src.Secret(ctx, "S4")
		require.NoError(t, err)
		assert.Len(t, v, 16<<4, "a value under the limit resolves")
	})
	t.Run("bounds many lines that each expand a large value", func(t *testing.T) {
		var b strings.Builder
		fmt.Fprintf(&b, "BIG=%s\n", strings.Repeat("x", 30<<10))
		for i := range 2000 {
			fmt.Fprintf(&b, "C%d=$BIG$BIG\n", i)
		}
		dir := kamalProject(t, map[string]string{".kamal/secrets": b.String()})
		src := kamal.Secrets{Files: []string{dir + "/.kamal/secrets"}}
		var err error
		bytes := allocated(func() { _, err = src.Secret(ctx, "C1999") })
		assert.LessOrEqual(t, bytes>>20, uint64(64), "allocated %d MB", bytes>>20)
		require.ErrorIs(t, err, secret.ErrMissing)
		assert.Contains(t, err.Error(), "the secrets files expand to more than")
	})
}

// BenchmarkLoad imports the inputs of TestLoadLimits side by
// side and prints, for each, the time, the memory allocated and the
// result; the map sizes show that time grows linearly with the keys.
func BenchmarkLoad(b *testing.B) {
	inputs := []struct{ name, yml string }{
		{"labels, 2,000 keys", kamalManyKeys(2_000)},
		{"labels, 20,000 keys", kamalManyKeys(20_000)},
		{"labels, 80,000 keys (1 MB)", kamalManyKeys(80_000)},
		{"accessory on 1,200 hosts", kamalAccessoryHosts(1_200)},
		{"accessory on 12,000 hosts", kamalAccessoryHosts(12_000)},
		{"merge fan-out (26 KB)", kamalMergeFanOut(26 << 10)},
		{"shared merges, 100x100", kamalSharedMerges(100, 100)},
		{"billion laughs", kamalLaughs()},
		{"merge chain, 1,500 maps", kamalMergeChain(1500)},
		{"aliases 100 deep", kamalAliasDepth(100)},
	}
	type result struct {
		perOp time.Duration
		bytes uint64
		err   error
	}
	results := make([]result, len(inputs))
	for i, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			dir := deployYML(b, in.yml)
			var err error
			bytes := allocated(func() { _, _, err = kamal.Load(dir, "") })
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				_, _, err = kamal.Load(dir, "")
			}
			results[i] = result{time.Since(start) / time.Duration(b.N), bytes, err}
		})
	}
	fmt.Printf("\nKamal import, %d inputs side by side:\n", len(inputs))
	for i, in := range inputs {
		r := results[i]
		outcome := "imported"
		if ke, ok := errors.AsType[*kamal.Error](r.err); ok {
			outcome, _, _ = strings.Cut(ke.Message, ";") // the limit, without the advice
		} else if r.err != nil {
			outcome = r.err.Error()
		}
		fmt.Printf("  %-28s %9s  %6.1f MB  %s\n", in.name, r.perOp.Round(10*time.Microsecond), float64(r.bytes)/(1<<20), outcome)
	}
	// Time per key (per host) at ten times the size: 1x is linear; a
	// scan per key would make it about 10x.
	for _, pair := range []struct {
		small, big int
		what       string
	}{{0, 1, "key"}, {3, 4, "host"}} {
		small, big := results[pair.small].perOp/2_000, results[pair.big].perOp/20_000
		if pair.what == "host" {
			small, big = results[pair.small].perOp/1_200, results[pair.big].perOp/12_000
		}
		if small > 0 {
			fmt.Printf("  per %s: %s at %s, %s at %s: %.1fx\n", pair.what, small, inputs[pair.small].name, big, inputs[pair.big].name, float64(big)/float64(small))
		}
	}
}
