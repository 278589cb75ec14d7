package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// Down stops every lab host and the bastion and removes every trace of
// the lab: its containers, daemons, mounts, network namespaces, veths and
// files.
func Down(ctx context.Context, opts Options) error {
	start := time.Now()
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: taking the lab down needs root")
	}
	dir := opts.dir()
	if _, err := os.Stat(dir); err == nil {
		unlock, err := lockDir(dir)
		if err != nil {
			return err
		}
		defer unlock()
	}
	hosts := map[int]bool{}
	for _, i := range hostIndexes(dir) {
		hosts[i] = true
	}
	for _, i := range labNamespaces() {
		hosts[i] = true
	}
	for i := range hosts {
		stopHost(opts, i, filepath.Join(dir, hostName(i)))
	}
	stopBastion(filepath.Join(dir, BastionName))
	stopS3(dir)
	unmountUnder(dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("lab: remove %s: %w", dir, err)
	}
	os.Remove(dir + ".lock")
	opts.logf("down: %d hosts removed in %s", len(hosts), since(start))
	return nil
}

// stopHost ends host i's containers and daemons and removes its network,
// leaving its directory (and host key) for a restart.
func stopHost(opts Options, i int, hdir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := Host{Name: hostName(i), DockerSocket: filepath.Join(hdir, "docker.sock"), dir: hdir}
	if pidAlive(filepath.Join(hdir, "dockerd.pid")) {
		if e, err := h.localEngine(ctx); err == nil {
			if cs, err := e.List(ctx, engine.ListOptions{All: true}); err == nil {
				for _, c := range cs {
					e.Remove(ctx, c.ID, true)
				}
			}
			e.Close()
		}
	}
	for _, d := range []string{"dockerd", "sshd"} {
		stopPid(readPid(filepath.Join(hdir, d+".pid")), 15*time.Second)
	}
	ns := netns(i)
	for _, pid := range strays(hdir, ns) {
		stopPid(pid, 2*time.Second)
	}
	unmountUnder(hdir)
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", "slw"+strconv.Itoa(i)+"r").Run()
	for _, f := range []string{"docker.sock", "dockerd.pid", "sshd.pid"} {
		os.Remove(filepath.Join(hdir, f))
	}
}

// stopPid sends SIGTERM and, if the process outlives grace, SIGKILL.
func stopPid(pid int, grace time.Duration) {
	if pid <= 0 || syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil || isZombie(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] == 'Z'
}

// strays finds processes a dead dockerd may leave: containerd and its
// shims (their command lines name the host's directory) and anything still
// in the host's network namespace.
func strays(hdir, ns string) []int {
	var nsIno uint64
	if st, err := os.Stat("/run/netns/" + ns); err == nil {
		nsIno = st.Sys().(*syscall.Stat_t).Ino
	}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.Contains(cmdline, []byte(hdir+"/")) {
			pids = append(pids, pid)
			continue
		}
		if nsIno != 0 {
			if st, err := os.Stat("/proc/" + e.Name() + "/ns/net"); err == nil && st.Sys().(*syscall.Stat_t).Ino == nsIno {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// unmountUnder detaches every mount below dir, deepest first (dockerd's
// overlay and shm mounts survive a killed daemon).
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// labNamespaces lists the host indexes of lab network namespaces present.
func labNamespaces() []int {
	entries, _ := os.ReadDir("/run/netns")
	var idx []int
	for _, e := range entries {
		if n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), netnsPrefix)); err == nil && strings.HasPrefix(e.Name(), netnsPrefix) {
			idx = append(idx, n)
		}
	}
	return idx
}
