package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// buildModuleBinary builds pkg of module@version, as downloaded by the Go
// module proxy, into out; extra files, by name, are added to pkg's
// directory (the module cache stays read-only, so that build runs in a copy).
func buildModuleBinary(ctx context.Context, module, version, pkg, out string, extra map[string][]byte) error {
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	dl.Dir = os.TempDir()
	dl.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	raw, err := dl.Output()
	if err != nil {
		return fmt.Errorf("lab: download %s@%s: %w: %s", module, version, err, stderrOf(err))
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(raw, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("lab: download %s@%s: no module directory in %q", module, version, raw)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out + ".tmp"}
	srcDir := mod.Dir
	if len(extra) > 0 {
		// The module cache is read-only and go build refuses overlays
		// into it, so build from a scratch copy with the files added.
		tmp, err := os.MkdirTemp("", "slipway-build")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		srcDir = filepath.Join(tmp, "src")
		if err := os.CopyFS(srcDir, os.DirFS(mod.Dir)); err != nil {
			return fmt.Errorf("lab: copy %s@%s to build it: %w", module, version, err)
		}
		for name, data := range extra {
			if err := os.WriteFile(filepath.Join(srcDir, pkg, name), data, 0o644); err != nil {
				return err
			}
		}
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: go build %s@%s %s: %w\n%s", module, version, pkg, err, lastLines(bytes.TrimSpace(b), 20))
	}
	return os.Rename(out+".tmp", out) // whole, for a concurrent reader
}

// startDaemon starts cmd in a session of its own, so it outlives the
// process that started it, with its output in logPath and env added to
// this process's environment. It writes the pid to pidfile unless that is
// "" (a daemon that writes its own).
func startDaemon(cmd *exec.Cmd, logPath, pidfile string, env ...string) error {
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it if it dies while we still run
	if pidfile == "" {
		return nil
	}
	return os.WriteFile(pidfile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}
