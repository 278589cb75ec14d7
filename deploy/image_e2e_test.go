package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/secret"
)

// secretMap is a secret.Source of fixed values.
type secretMap map[string]string

func (m secretMap) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%s: %w", name, secret.ErrMissing)
}

// webApp is a small Go web app that answers / with its release.
const webApp = `package main

import (
	"context"
	"fmt"
	"net/http"
	"os/signal"
	"syscall"
)

const release = %q

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, release) })
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Addr: ":3000", Handler: mux}
	go srv.ListenAndServe()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	srv.Shutdown(context.Background())
}
`

// writeWebApp writes the app's module, serving release, into dir.
func writeWebApp(t testing.TB, dir, release string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/web\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(fmt.Sprintf(webApp, release)), 0o644))
	return dir
}

// dockerContext is a build context of the lab's test app binary: stage
// "app" serves the RELEASE build arg; stage "broken" fails in a RUN step.
func dockerContext(t testing.TB, l *lab.Lab) string {
	dir := t.TempDir()
	bin, err := os.ReadFile(filepath.Join(l.Dir, "bin", "testapp"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "testapp"), bin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("left out by .dockerignore\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.txt\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(`FROM scratch AS app
COPY testapp /testapp
ARG RELEASE=unset
ENV APP_VERSION=$RELEASE PORT=3000
ENTRYPOINT ["/testapp"]

FROM app AS broken
RUN ["/testapp", "fail"]
`), 0o644))
	return dir
}

// served returns what every host's proxy answers for the app.
func served(t testing.TB, a deploy.App) []string {
	var bodies []string
	for _, h := range a.HostNames() {
		req, _ := http.NewRequest("GET", "http://"+h+"/", nil)
		req.Host = a.Service + ".test"
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, strings.TrimSpace(string(body)))
	}
	return bodies
}

// buildApp makes a's image come from source: a repository of the test's
// own, in the lab registry when reg is set.
func buildApp(t testing.TB, a deploy.App, reg *lab.Registry, b image.Builder) deploy.App {
	a.Image = "slipway-e2e/" + a.Service
	a.Build = b
	if reg != nil {
		a.Image = reg.Addr + "/" + a.Image
		a.Registry = &deploy.Registry{Username: reg.Username, PasswordSecret: "REGISTRY_PASSWORD"}
		a.Secrets = secretMap{"REGISTRY_PASSWORD": reg.Password}
	}
	return a
}

func TestDeployBuildsAndDeliversTheImage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dockerfile bool
		registry   bool
	}{
		{"go build, registry-free over SSH", false, false},
		{"go build, through the registry", false, true},
		{"Dockerfile on a builder host, registry-free over SSH", true, false},
		{"Dockerfile on a builder host, through the registry", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, l := labApp(t, 3)
			var reg *lab.Registry
			if tc.registry {
				reg = lab.RequireRegistry(t, l)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			src := writeWebApp(t, t.TempDir(), "r1")
			builder := func(release string) image.Builder {
				if tc.dockerfile {
					builder := l.Hosts[0].SSHConfig()
					return image.Dockerfile{Context: dockerContext(t, l), Target: "app",
						Args: map[string]string{"RELEASE": release}, Host: &builder, Socket: l.Hosts[0].DockerSocket}
				}
				writeWebApp(t, src, release)
				return image.Go{Package: ".", Dir: src}
			}
			a = buildApp(t, a, reg, builder("r1"))
			t.Cleanup(func() { removeImages(t, l, a.Image) })
			var out syncBuffer
			s := connect(t, a, &out)

			_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
			require.NoError(t, err, out.String())
			assert.Equal(t, []string{"r1", "r1", "r1"}, served(t, a))
			assert.Contains(t, out.String(), "build-image")
			assert.Contains(t, out.String(), "deliver-image")

			// The same source again: every host holds the image already.
			out2 := &syncBuffer{}
			s2 := connect(t, a, out2)
			_, err = s2.Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, out2.String())
			assert.Equal(t, 3, strings.Count(out2.String(), "(present)"), "nothing sent:\n%s", out2.String())

			// New code: served once the deploy is done.
			b := buildApp(t, a, reg, builder("r3"))
			out3 := &syncBuffer{}
			s3 := connect(t, b, out3)
			_, err = s3.Deploy(ctx, deploy.Release{Version: "v3"})
			require.NoError(t, err, out3.String())
			assert.Equal(t, []string{"r3", "r3", "r3"}, served(t, a))
			t.Logf("third deploy:\n%s", out3.String())

			if reg != nil {
				for _, text := range []string{out.String(), out2.String(), out3.String()} {
					assert.NotContains(t, text, reg.Password, "the registry password never shows")
				}
				for _, h := range l.Hosts[:3] {
					hits, _ := exec.Command("grep", "-rlF", "--binary-files=text", reg.Password,
						filepath.Join(l.Dir, h.Name, "docker"), filepath.Join(l.Dir, h.Name, "root")).Output()
					assert.Empty(t, strings.TrimSpace(string(hits)), "the registry password is on %s's disk", h.Name)
				}
			}
		})
	}
}

func TestBadImageInputFailsBeforeAnyHostChanges(t *testing.T) {
	a, l := labApp(t, 2)
	reg := lab.RequireRegistry(t, l)
	builder := l.Hosts[0].SSHConfig()
	goodDocker := image.Dockerfile{Context: dockerContext(t, l), Target: "app", Host: &builder, Socket: l.Hosts[0].DockerSocket}
	broken := writeWebApp(t, t.TempDir(), "x")
	require.NoError(t, os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644))

	for _, tc := range []struct {
		name  string
		app   func() deploy.App
		wants []string
		is    error
	}{
		{"a missing Dockerfile", func() deploy.App {
			d := goodDocker
			d.Context = t.TempDir()
			return buildApp(t, a, nil, d)
		}, []string{"no Dockerfile in"}, nil},
		{"a failing build step, with its output", func() deploy.App {
			d := goodDocker
			d.Target = "broken"
			return buildApp(t, a, nil, d)
		}, []string{`RUN ["/testapp", "fail"]`, "failing on purpose", "returned a non-zero code: 2"}, nil},
		{"a Go main package that does not compile", func() deploy.App {
			return buildApp(t, a, nil, image.Go{Package: ".", Dir: broken})
		}, []string{"go build . (in " + broken, "undefined: undefinedCall"}, nil},
		{"an unreachable registry", func() deploy.App {
			b := buildApp(t, a, reg, image.Go{Package: ".", Dir: writeWebApp(t, t.TempDir(), "u")})
			b.Image = "127.0.0.1:1/slipway-e2e/" + a.Service
			return b
		}, []string{"127.0.0.1:1", "check the registry address"}, image.ErrRegistryUnreachable},
		{"wrong registry credentials", func() deploy.App {
			b := buildApp(t, a, reg, image.Go{Package: ".", Dir: writeWebApp(t, t.TempDir(), "w")})
			b.Secrets = secretMap{"REGISTRY_PASSWORD": "not-the-password"}
			return b
		}, []string{"login slipway", "check the registry user and its password secret"}, engine.ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var out syncBuffer
			app := tc.app()
			s := connect(t, app, &out)
			_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
			require.Error(t, err)
			t.Logf("error:\n%v", err)
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
			if tc.is != nil {
				assert.True(t, errors.Is(err, tc.is), "error matches %v", tc.is)
			}
			assert.NotContains(t, err.Error()+out.String(), "not-the-password")
			assert.NotContains(t, err.Error()+out.String(), reg.Password)
			for _, h := range l.Hosts[:2] {
				e := h.Engine(t)
				cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: a.Service}})
				require.NoError(t, err)
				assert.Empty(t, cs, "no container on %s", h.Name)
				_, err = e.ImageInspect(ctx, app.Image+":v1")
				assert.ErrorIs(t, err, engine.ErrNotFound, "no image on %s", h.Name)
			}
		})
	}
}

// removeImages removes every tag of repo from the lab hosts.
func removeImages(t testing.TB, l *lab.Lab, repo string) {
	ctx := context.Background()
	for _, h := range l.Hosts {
		c, e, err := h.Connect(ctx)
		if err != nil {
			continue
		}
		imgs, _ := e.ImageList(ctx, nil)
		for _, img := range imgs {
			for _, tag := range img.Tags {
				if strings.HasPrefix(tag, repo+":") {
					e.ImageRemove(ctx, tag, true)
				}
			}
		}
		e.Close()
		c.Close()
	}
}
