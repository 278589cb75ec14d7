package deployment_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"example.com/notes/deployment"
	"github.com/slipwayhq/slipway/deploy"
)

func TestApp(t *testing.T) {
	t.Run("is a valid app", func(t *testing.T) {
		require.NoError(t, deployment.App(deploy.Hosts("203.0.113.10")...).Validate())
	})
	t.Run("is refused on two servers, since its database lives on one", func(t *testing.T) {
		assert.Error(t, deployment.App(deploy.Hosts("203.0.113.10", "203.0.113.11")...).Validate())
	})
}

// The deployment module requires the SDK, and with it the SDK's
// modernc.org/sqlite; the image it builds must link the app's own pin.
func TestImageLinksTheAppsModule(t *testing.T) {
	app := deployment.App(deploy.Hosts("203.0.113.10")...)
	built, err := app.Build.Build(context.Background(), []string{"linux/amd64"}, io.Discard)
	require.NoError(t, err)
	defer built.Close()
	img, err := built.For("linux/amd64")
	require.NoError(t, err)

	bin := filepath.Join(t.TempDir(), "notes")
	layers, err := img.Layers()
	require.NoError(t, err)
	require.NotEmpty(t, layers)
	rc, err := layers[len(layers)-1].Uncompressed() // the binary's layer comes last
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "the image has no notes binary")
		if h.Name == "notes" {
			f, err := os.Create(bin)
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, firstErr(err, f.Close()))
			break
		}
	}

	out, err := exec.Command("go", "version", "-m", bin).Output()
	require.NoError(t, err)
	deps := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && (f[0] == "dep" || f[0] == "=>") {
			deps[f[1]] = f[2]
		}
	}
	assert.Equal(t, "v1.57.0", deps["modernc.org/sqlite"], "the app's own pin, not the SDK's")
	for mod := range deps {
		if strings.HasPrefix(mod, "github.com/slipwayhq/slipway") {
			assert.Equal(t, "github.com/slipwayhq/slipway/health/up", mod, "the app links nothing else of Slipway")
		}
		for _, banned := range []string{"github.com/docker/", "github.com/moby/", "go.opentelemetry.io/", "github.com/aws/"} {
			assert.False(t, strings.HasPrefix(mod, banned), "the app links %s", mod)
		}
	}
}

// firstErr returns the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
