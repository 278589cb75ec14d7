package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// A tool is a program the lab builds from a module's source in the Go
// module proxy, into the lab's bin directory, the first time a test
// needs it.
type tool struct {
	name            string
	module, version string
	pkg             string
	extra           map[string][]byte // files added to pkg before building
}

var (
	registryTool   = tool{"registry", registryModule, registryVersion, "./cmd/registry", nil}
	litestreamTool = tool{"litestream", litestreamModule, LitestreamVersion, "./cmd/litestream", nil}
	probeTool      = tool{"litestream-probe", litestreamModule, LitestreamVersion, "./cmd/litestream",
		map[string][]byte{"zz_slipway_probe.go": []byte(probeSource)}}
)

// build builds the tool into the lab's bin directory unless its binary
// is there already, one process
// at a time (the loser of a race finds it built), and logs how long a
// build took.
func (tl tool) build(ctx context.Context, opts Options) (string, error) {
	bin := filepath.Join(opts.dir(), "bin", tl.name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockDir(bin)
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	start := time.Now()
	if err := buildModuleBinary(ctx, tl.module, tl.version, tl.pkg, bin, tl.extra); err != nil {
		return "", err
	}
	opts.logf("built %s %s in %s", tl.name, tl.version, since(start))
	return bin, nil
}

// BuildTools builds the programs that tests otherwise build when they
// first need them: the registry, Litestream and Litestream's config
// probe, compiled from source. `mage test` runs it beside Up, so that
// no test waits minutes on a compiler in the middle of a run on a fresh
// machine. Binaries already built are kept.
func BuildTools(ctx context.Context, opts Options) error {
	start := time.Now()
	for _, tl := range []tool{registryTool, litestreamTool, probeTool} {
		if _, err := tl.build(ctx, opts); err != nil {
			return fmt.Errorf("lab: build %s: %w", tl.name, err)
		}
	}
	opts.logf("tools ready in %s", since(start))
	return nil
}
