package lab

import (
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// FaultHosts are the lab hosts reserved for fault injection: tests that
// stop a host's dockerd (SIGSTOP) or take its link down run only on these,
// and every other test must leave them alone, because a test on them may
// find them hung or unreachable at any moment. Tests that use them call
// Require(t, 8) and get them with Lab.FaultHost. The helpers below refuse
// any other host and always restore the host when the test ends.
var FaultHosts = []string{"h7", "h8"}

// SuiteHosts is how many hosts the whole test suite uses, the fault
// hosts included. `mage test` brings them all up before any test runs,
// so no test process grows the lab while another one reads it.
const SuiteHosts = 13

// Shared returns the first n hosts of the lab that are not fault hosts,
// the ones any test may use at any time, failing the test if the lab
// has fewer.
func (l *Lab) Shared(t testing.TB, n int) []Host {
	t.Helper()
	var hosts []Host
	for _, h := range l.Hosts {
		if len(hosts) < n && !slices.Contains(FaultHosts, h.Name) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) < n {
		t.Fatalf("lab: %d hosts besides the fault hosts, want %d (Require more)", len(hosts), n)
	}
	return hosts
}

// FaultHost returns the fault-injection host named name (one of
// FaultHosts), failing the test for any other name or a lab too small.
func (l *Lab) FaultHost(t testing.TB, name string) Host {
	t.Helper()
	if !slices.Contains(FaultHosts, name) {
		t.Fatalf("lab: %s is not a fault-injection host (only %s are)", name, strings.Join(FaultHosts, ", "))
	}
	for _, h := range l.Hosts {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("lab: no host %s: use lab.Require(t, 8)", name)
	return Host{}
}

// PauseEngine stops the host's dockerd with SIGSTOP: its API stops
// answering while its containers (kamal-proxy, the app) keep running, as
// with a hung daemon. The returned func sends SIGCONT; it is also called
// when the test ends, so the host is restored even when the test fails.
func (h Host) PauseEngine(t testing.TB) (resume func()) {
	t.Helper()
	h.mustBeFaultHost(t)
	pid, _ := h.DaemonPIDs()
	if pid <= 0 {
		t.Fatalf("lab: %s: no dockerd pid", h.Name)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("lab: %s: SIGSTOP dockerd %d: %v", h.Name, pid, err)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("lab: %s: SIGCONT dockerd %d: %v", h.Name, pid, err)
			}
		})
	}
	t.Cleanup(resume)
	return resume
}

// LinkDown takes the root-namespace end of the host's veth pair down: the
// host drops off the network (established connections stall, new ones
// are refused as unreachable) while everything on it keeps running. The
// returned func brings the link back up; it is also called when the test
// ends, so the host is restored even when the test fails.
func (h Host) LinkDown(t testing.TB) (up func()) {
	t.Helper()
	h.mustBeFaultHost(t)
	link := h.veth()
	if out, err := exec.Command("ip", "link", "set", link, "down").CombinedOutput(); err != nil {
		t.Fatalf("lab: %s: ip link set %s down: %v: %s", h.Name, link, err, out)
	}
	var once sync.Once
	up = func() {
		once.Do(func() {
			if out, err := exec.Command("ip", "link", "set", link, "up").CombinedOutput(); err != nil {
				t.Errorf("lab: %s: ip link set %s up: %v: %s", h.Name, link, err, out)
			}
		})
	}
	t.Cleanup(up)
	return up
}

// veth is the root-namespace end of the host's veth pair (see startHost).
func (h Host) veth() string { return "slw" + h.Name[1:] + "r" }

func (h Host) mustBeFaultHost(t testing.TB) {
	t.Helper()
	if !slices.Contains(FaultHosts, h.Name) {
		t.Fatalf("lab: refusing to disrupt %s: only %s are reserved for fault injection", h.Name, strings.Join(FaultHosts, ", "))
	}
}
