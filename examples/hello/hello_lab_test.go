package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
)

// mage runs one of hello's Mage targets the way a user does, and returns
// what it printed.
func mage(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", "mage.go"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mage %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func served(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	return string(b)
}

// The example's whole life in the lab, through its Mage targets:
// deploy, deploy again, roll back, then a restore drill of its replica.
func TestDeployRollbackDrill(t *testing.T) {
	lab.Require(t, 1)
	s3 := lab.RequireS3(t)
	require.NoError(t, os.MkdirAll(filepath.Join(s3.Dir, deployment.LabBucket), 0o755))
	url := "http://" + deployment.Lab().PrimaryHost() + "/"
	t.Cleanup(func() { os.RemoveAll(".slipway") })

	one, two := fmt.Sprintf("e2e-%d-one", rand.Uint32()), fmt.Sprintf("e2e-%d-two", rand.Uint32())
	mage(t, "deploy", "-version="+one)
	assert.Contains(t, served(t, url), "hello from "+one)

	out := mage(t, "deploy", "-version="+two)
	assert.Contains(t, out, "(present)", "the same image is not sent again")
	assert.Contains(t, served(t, url), "hello from "+two)

	mage(t, "rollback", one)
	assert.Contains(t, served(t, url), "hello from "+one)

	time.Sleep(2 * time.Second) // a sync interval or two, for the last visits to reach the replica
	out = mage(t, "replica:drill")
	t.Logf("replica:drill:\n%s", out)
	assert.Regexp(t, `s3://hello/hello.db\s+pass`, out)
	assert.Contains(t, out, "recorded in .slipway/drills.jsonl")
}
