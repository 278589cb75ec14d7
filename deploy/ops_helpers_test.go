package deploy_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

// ownImages gives the test app images of its own on the first n lab
// hosts: the lab's test app images, each with a label that makes its ID
// unique, tagged repo:v1..v3. Pruning them cannot take an image another
// test, or the lab, relies on. When the test ends, the app's containers
// on those hosts go first, then the images.
func ownImages(t *testing.T, l *lab.Lab, n int, service string) (repo string) {
	t.Helper()
	repo = service + "/testapp"
	images := map[name.Reference]v1.Image{}
	for _, v := range lab.TestAppVersions {
		src, err := name.NewTag(lab.TestAppImage + ":" + v)
		require.NoError(t, err)
		img, err := tarball.ImageFromPath(filepath.Join(l.Dir, "images.tar"), &src)
		require.NoError(t, err)
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		cfg := *cf.Config.DeepCopy()
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels["slipway.test"] = service
		img, err = mutate.Config(img, cfg)
		require.NoError(t, err)
		dst, err := name.NewTag(repo + ":" + v)
		require.NoError(t, err)
		images[dst] = img
	}
	var archive bytes.Buffer
	require.NoError(t, tarball.MultiRefWrite(images, &archive))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, h := range l.Hosts[:n] {
		require.NoError(t, h.Engine(t).ImageLoad(ctx, bytes.NewReader(archive.Bytes())))
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, h := range l.Hosts[:n] {
			c, e, err := h.Connect(ctx)
			if err != nil {
				continue
			}
			cs, _ := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: service}})
			for _, ctr := range cs {
				e.Remove(ctx, ctr.ID, true)
			}
			for _, v := range lab.TestAppVersions {
				e.ImageRemove(ctx, repo+":"+v, true)
			}
			e.Close()
			c.Close()
		}
	})
	return repo
}

// get asks a lab host's kamal-proxy for path of the app served as vhost,
// and returns the answer's body.
func get(t *testing.T, host, vhost, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+host+path, nil)
	require.NoError(t, err)
	req.Host = vhost
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// outputLines splits output into its lines, without their ends.
func outputLines(out string) []string {
	out = strings.TrimSuffix(out, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
