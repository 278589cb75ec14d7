package lab

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Memory is what the lab's processes hold in memory: its daemons
// (dockerd, containerd, the shims, sshd), whose command lines name the
// lab's directory, and everything they started (the containers).
type Memory struct {
	// PSS is the sum of their proportional set sizes, in bytes: each
	// page shared by n processes (the daemons' binaries) counts 1/n, so
	// the sum is what the lab costs the machine.
	PSS       uint64
	Processes int
}

// PerHost is the memory per host.
func (m Memory) PerHost(hosts int) uint64 {
	if hosts <= 0 {
		return 0
	}
	return m.PSS / uint64(hosts)
}

// Memory reads /proc for the lab's processes and adds up their
// proportional memory.
func (l *Lab) Memory() Memory {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	pss := map[int]uint64{}
	var roots []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, ok := procParent(pid)
		if !ok {
			continue
		}
		parent[pid], pss[pid] = ppid, procPSS(pid)
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.Contains(cmdline, []byte(l.Dir+"/")) {
			roots = append(roots, pid)
		}
	}
	isRoot := map[int]bool{}
	for _, pid := range roots {
		isRoot[pid] = true
	}
	var m Memory
	for pid := range parent {
		for p, depth := pid, 0; p > 1 && depth < 64; p, depth = parent[p], depth+1 {
			if isRoot[p] {
				m.PSS += pss[pid]
				m.Processes++
				break
			}
		}
	}
	return m
}

// procParent reads a process's parent from /proc/PID/status; ok is
// false for a process that is gone.
func procParent(pid int) (ppid int, ok bool) {
	v, ok := procField("/proc/"+strconv.Itoa(pid)+"/status", "PPid")
	if !ok {
		return 0, false
	}
	ppid, _ = strconv.Atoi(v)
	return ppid, true
}

// procPSS reads a process's proportional set size, in bytes, from
// /proc/PID/smaps_rollup; 0 when it cannot be read.
func procPSS(pid int) uint64 {
	v, _ := procField("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", "Pss")
	kb, _ := strconv.ParseUint(v, 10, 64)
	return kb * 1024
}

// procField returns the first word of the "key: value" line of a /proc
// file.
func procField(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ":")
		if fields := strings.Fields(v); k == key && len(fields) > 0 {
			return fields[0], true
		}
	}
	return "", false
}
