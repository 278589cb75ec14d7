package examples_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/internal/lab"
)

// notesGet sends a request to the notes service through kamal-proxy on
// host, routed by its domain, and returns the status and body.
func notesGet(t *testing.T, method, url, domain, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Host = domain
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// The documented layout end to end: `go run mage.go deploy` in the notes
// app's nested deployment module builds the app from the app's module,
// delivers it to a lab host and deploys it behind kamal-proxy, whose
// health gate polls the /up that health/up serves.
func TestNotesDeploysFromItsNestedModule(t *testing.T) {
	l := lab.Require(t, 1)
	h := l.Hosts[0]
	service := fmt.Sprintf("notes%d", rand.Uint32()%1_000_000)
	domain := service + ".test"
	version := "e2e-" + service
	lab.CleanupService(t, l.Hosts[:1], service)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, e, err := h.Connect(ctx); err == nil {
			_ = e.VolumeRemove(ctx, service+"-data", true)
			_ = e.ImageRemove(ctx, "example/notes:"+version, true)
			e.Close()
			c.Close()
		}
	})
	const dir = "notes/deployment"
	_, statErr := os.Stat(dir + "/.slipway")
	if os.IsNotExist(statErr) {
		t.Cleanup(func() { os.RemoveAll(dir + "/.slipway") }) // the deploy's local state, if it left any
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "mage.go", "deploy", "-version="+version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"NOTES_HOST="+h.Addr, "NOTES_SSH_KEY="+h.KeyFile, "NOTES_KNOWN_HOSTS="+h.KnownHosts,
		"NOTES_DOCKER_SOCKET="+h.DockerSocket, "NOTES_SERVICE="+service, "NOTES_DOMAIN="+domain)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go run mage.go deploy (in %s):\n%s", dir, out)
	t.Logf("deploy:\n%s", out)

	url := "http://" + h.Addr
	code, body := notesGet(t, http.MethodGet, url+"/up", domain, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)

	code, body = notesGet(t, http.MethodPost, url+"/", domain, "ship it")
	require.Equal(t, http.StatusCreated, code, body)
	code, body = notesGet(t, http.MethodGet, url+"/", domain, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "#1 ship it\n", body)
}
