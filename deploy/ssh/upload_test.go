package ssh_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/internal/lab"
)

// TestUploadIntoAVolumeAContainerWrites plants symbolic links, as an app
// container that writes its volume could, at every name an upload writes
// — the target, the temporary name, the directory and the name older
// releases used — each pointing at a file of the host outside the volume.
func TestUploadIntoAVolumeAContainerWrites(t *testing.T) {
	h := lab.Require(t, 6).Hosts[5]
	c := h.Dial(t)
	e := h.Engine(t)
	ctx := ctxFor(t, time.Minute)
	volume := fmt.Sprintf("secrets-upload-%d", time.Now().UnixNano())
	require.NoError(t, e.VolumeEnsure(ctx, volume, map[string]string{"slipway.test": "secrets"}))
	t.Cleanup(func() { e.VolumeRemove(context.Background(), volume, true) })
	mount, err := e.VolumeMountpoint(ctx, volume)
	require.NoError(t, err)

	run := func(cmd string) string {
		t.Helper()
		res, err := c.Run(ctx, cmd, nil)
		require.NoError(t, err, cmd)
		return strings.TrimSpace(string(res.Stdout))
	}
	// The host file a planted link points at: outside the volume, root's, 0600.
	victim := run("mktemp /tmp/secrets-upload-victim.XXXXXX")
	t.Cleanup(func() { c.Run(context.Background(), "rm -f "+ssh.Quote(victim), nil) })
	run("printf 'ssh-ed25519 AAAA the host key\\n' > " + victim + " && chmod 0600 " + victim)
	victimState := func() string { return run("stat -c '%u:%g %a %s' " + victim + " && cat " + victim) }
	before := victimState()

	db := mount + "/app.db"
	stateOf := func(p string) string { return run("stat -c '%u:%g %a %F' " + ssh.Quote(p)) }
	// The database the app owns: uid 1000, mode 0640.
	run("printf 'old database' > " + db + " && chown 1000:1000 " + db + " && chmod 0640 " + db)

	t.Run("a link at the old temporary name is not followed, and the target keeps its owner and mode", func(t *testing.T) {
		link := db + ".slipway-upload"
		run("ln -s " + victim + " " + link)
		t.Cleanup(func() { run("rm -f " + link) })
		require.NoError(t, c.Upload(ctx, db, 0o644, strings.NewReader("restored database")))
		assert.Equal(t, "restored database", run("cat "+db))
		assert.Equal(t, "1000:1000 640 regular file", stateOf(db))
		assert.Equal(t, "symbolic link", run("stat -c %F "+link), "the planted link is left as it was")
		assert.Equal(t, before, victimState())
		assert.Equal(t, "app.db\napp.db.slipway-upload", run("ls -A "+mount), "no temporary file is left")
	})

	t.Run("a link at the temporary name is refused, writing nothing", func(t *testing.T) {
		tmp := ".slipway-upload-planted"
		run("ln -s " + victim + " " + mount + "/" + tmp)
		t.Cleanup(func() { run("rm -f " + mount + "/" + tmp) })
		err := ssh.UploadVia(ctx, c, db, 0o644, strings.NewReader("through the link"), tmp)
		require.ErrorIs(t, err, ssh.ErrUploadRefused)
		assert.Equal(t, "restored database", run("cat "+db))
		assert.Equal(t, "symbolic link", run("stat -c %F "+mount+"/"+tmp), "a name the upload did not create is not removed")
		assert.Equal(t, before, victimState())
	})

	t.Run("a target that is a link is refused", func(t *testing.T) {
		target := mount + "/linked.db"
		run("ln -s " + victim + " " + target)
		t.Cleanup(func() { run("rm -f " + target) })
		err := c.Upload(ctx, target, 0o644, strings.NewReader("through the link"))
		require.ErrorIs(t, err, ssh.ErrUploadRefused)
		assert.Contains(t, err.Error(), "symbolic link")
		assert.Equal(t, "symbolic link", run("stat -c %F "+target))
		assert.Equal(t, before, victimState())
	})

	t.Run("a directory swapped for a link is refused", func(t *testing.T) {
		sub := mount + "/sub"
		run("ln -s /tmp " + sub)
		t.Cleanup(func() { run("rm -f " + sub) })
		err := c.Upload(ctx, sub+"/"+strings.TrimPrefix(victim, "/tmp/"), 0o644, strings.NewReader("through the link"))
		require.ErrorIs(t, err, ssh.ErrUploadRefused)
		assert.Equal(t, before, victimState())
	})

	t.Run("a restored file takes the owner and mode of the one moved aside", func(t *testing.T) {
		aside := "app.db.damaged-20261201T000000Z"
		run("mv " + db + " " + mount + "/" + aside)
		link := db + ".slipway-upload"
		run("ln -s " + victim + " " + link)
		t.Cleanup(func() { run("rm -f " + link) })
		require.NoError(t, c.UploadLike(ctx, db, aside, 0o644, strings.NewReader("restored again")))
		assert.Equal(t, "restored again", run("cat "+db))
		assert.Equal(t, "1000:1000 640 regular file", stateOf(db))
		assert.Equal(t, before, victimState())
	})

	t.Run("a new file gets the mode asked for", func(t *testing.T) {
		require.NoError(t, c.Upload(ctx, mount+"/new.db", 0o600, strings.NewReader("new")))
		assert.Equal(t, "0:0 600 regular file", stateOf(mount+"/new.db"))
	})

	t.Run("modes beyond read and write are refused before anything runs", func(t *testing.T) {
		err := c.Upload(ctx, mount+"/tool", 0o755, strings.NewReader("#!/bin/sh"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "0755")
	})
}
