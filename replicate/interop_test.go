package replicate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cliEnv is the environment the litestream CLI runs with, as in the
// sidecar: credentials under their secret names and no AWS_CA_BUNDLE,
// which Litestream v0.5.18 cannot load.
func cliEnv(s3 *lab.S3) []string {
	return append([]string{"PATH=/usr/bin:/bin", "HOME=" + os.TempDir()}, s3.Env()...)
}

func writeConfig(t *testing.T, r replicate.Replica) string {
	t.Helper()
	b, err := replicate.Config(r)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "litestream.yml")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func countItems(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	var ok string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&ok))
	require.Equal(t, "ok", ok)
	var n int64
	require.NoError(t, db.QueryRow("SELECT count(*) FROM items").Scan(&n))
	return n
}

func TestInteropWithLitestreamCLI(t *testing.T) {
	s3 := lab.RequireS3(t)
	cli := lab.LitestreamCLI(t)
	ctx := context.Background()

	t.Run("litestream restore reads a replica Slipway wrote", func(t *testing.T) {
		r := labReplica(t, s3, filepath.Join(t.TempDir(), "slipway.db"))
		writeReplicated(t, r, 120)
		out := filepath.Join(t.TempDir(), "restored.db")
		cmd := exec.CommandContext(ctx, cli, "restore", "-config", writeConfig(t, r), "-o", out, r.DB)
		cmd.Env = cliEnv(s3)
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", b)
		assert.Equal(t, int64(120), countItems(t, out))
	})

	t.Run("Slipway drills a replica litestream replicate wrote", func(t *testing.T) {
		r := labReplica(t, s3, filepath.Join(t.TempDir(), "cli.db"))
		db, err := sql.Open("sqlite", "file:"+r.DB+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)")
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
		require.NoError(t, err)
		cmd := exec.Command(cli, "replicate", "-config", writeConfig(t, r))
		cmd.Env = cliEnv(s3)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for range 200 { // bounded: 200 commits over about two seconds
			_, err := db.Exec("INSERT INTO items (name) VALUES ('x')")
			require.NoError(t, err)
			time.Sleep(10 * time.Millisecond)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM)) // litestream syncs on shutdown
		require.NoError(t, cmd.Wait())
		rep, err := replicate.Drill(ctx, r, replicate.DrillOptions{Queries: []replicate.Query{{Name: "items", SQL: "SELECT id FROM items", MinRows: 200, MaxRows: 200}}})
		require.NoError(t, err)
		assert.Equal(t, "ok", rep.Integrity)
	})
}

// TestCABundle pins the decision on the AWS_CA_BUNDLE trap: a bundle whose
// CAs the system already trusts is set aside and replication works; any
// other bundle is refused with what to do.
func TestCABundle(t *testing.T) {
	s3 := lab.RequireS3(t)
	r := labReplica(t, s3, filepath.Join(t.TempDir(), "ca.db"))
	writeReplicated(t, r, 10)

	t.Run("works with the system bundle set", func(t *testing.T) {
		t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
		_, err := replicate.Verify(context.Background(), r, time.Hour)
		require.NoError(t, err)
	})

	t.Run("refuses a private CA with what to do", func(t *testing.T) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Slipway Test Private CA"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		require.NoError(t, err)
		bundle := filepath.Join(t.TempDir(), "private-ca.pem")
		require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
		t.Setenv("AWS_CA_BUNDLE", bundle)
		_, err = replicate.Verify(context.Background(), r, time.Hour)
		require.ErrorIs(t, err, replicate.ErrCABundle)
		t.Logf("%v", err)
		assert.Contains(t, err.Error(), "Slipway Test Private CA")
		assert.Contains(t, err.Error(), "unset AWS_CA_BUNDLE")
	})
}
