// etcdbench - drives etcd's native gRPC API the way bench/skbench drives
// Skinny, for `make bench` (bench/README.md). Built offline with Debian's Go
// against Debian's packaged etcd client sources (golang-etcd-server-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o build/bench/etcdbench bench/etcd/etcdbench.go
//
//	etcdbench -endpoints A,B,C -mode cycle     -n 1000 -warm 100
//	etcdbench -endpoints A,B,C -mode distinct  -clients 64 -secs 5
//	etcdbench -endpoints A,B,C -mode contended -clients 8  -secs 5
//
// It talks to the leader only (found with the Status call), as the Skinny
// driver talks to the one proposer. Each client has its own connection and
// its own session (a lease with a TTL, kept alive), as a lock user would.
//
//	cycle:     concurrency.NewMutex Lock + Unlock of one key, one client,
//	           timed together (the uncontended lock cycle).
//	distinct:  every client loops Lock + Unlock on its own key; each
//	           Lock and each Unlock is one lock operation.
//	contended: every client loops try-acquire on one shared key (a
//	           transaction: create the key with the session's lease if it
//	           does not exist), and releases (delete) when it got it. A try
//	           that finds the key held is a refusal, as Skinny's acquire of
//	           a held lock is. (3.4's Mutex has no TryLock; this is what
//	           later versions' TryLock does in one round trip.)
//
// Output: "key value" lines; "lat_us" is followed by every measured latency
// in microseconds (cycles, or operations for distinct/contended).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "etcdbench: "+format+"\n", a...)
	os.Exit(1)
}

func dial(eps []string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		fail("connect %v: %v", eps, err)
	}
	return c
}

// leader returns the client URL of the current leader.
func leader(eps []string) string {
	c := dial(eps)
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ids := map[uint64]string{}
		var lead uint64
		for _, ep := range eps {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.Status(ctx, ep)
			cancel()
			if err != nil {
				continue
			}
			ids[st.Header.MemberId] = ep
			if st.Leader != 0 {
				lead = st.Leader
			}
		}
		if ep, ok := ids[lead]; ok && lead != 0 {
			return ep
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("no leader among %v", eps)
	return ""
}

type worker struct {
	cli  *clientv3.Client
	sess *concurrency.Session
}

func newWorker(ep string) worker {
	c := dial([]string{ep})
	s, err := concurrency.NewSession(c, concurrency.WithTTL(60))
	if err != nil {
		fail("session: %v", err)
	}
	return worker{c, s}
}

func (w worker) close() {
	w.sess.Close()
	w.cli.Close()
}

func main() {
	endpoints := flag.String("endpoints", "", "client URLs, comma-separated")
	mode := flag.String("mode", "cycle", "cycle | distinct | contended")
	n := flag.Int("n", 1000, "cycles (cycle mode)")
	warm := flag.Int("warm", 100, "warm-up cycles")
	clients := flag.Int("clients", 64, "clients (distinct, contended)")
	secs := flag.Float64("secs", 5, "duration (distinct, contended)")
	flag.Parse()
	eps := strings.Split(*endpoints, ",")
	if *endpoints == "" {
		fail("-endpoints is required")
	}
	ep := leader(eps)
	fmt.Printf("leader %s\n", ep)
	ctx := context.Background()

	switch *mode {
	case "cycle":
		w := newWorker(ep)
		defer w.close()
		m := concurrency.NewMutex(w.sess, "/bench/cycle")
		lat := make([]int64, 0, *n)
		for i := 0; i < *warm+*n; i++ {
			t0 := time.Now()
			if err := m.Lock(ctx); err != nil {
				fail("lock: %v", err)
			}
			if err := m.Unlock(ctx); err != nil {
				fail("unlock: %v", err)
			}
			if i >= *warm {
				lat = append(lat, time.Since(t0).Microseconds())
			}
		}
		report(lat, int64(len(lat)), 0, 0)
	case "distinct", "contended":
		ws := make([]worker, *clients)
		for i := range ws {
			ws[i] = newWorker(ep)
		}
		var mu sync.Mutex
		var all []int64
		var grants, refusals, errs int64
		var wg sync.WaitGroup
		start := time.Now()
		end := start.Add(time.Duration(*secs * float64(time.Second)))
		for i := range ws {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				w := ws[i]
				var lat []int64
				var g, r, e int64
				if *mode == "distinct" {
					m := concurrency.NewMutex(w.sess, fmt.Sprintf("/bench/d/%d", i))
					for time.Now().Before(end) {
						t0 := time.Now()
						if err := m.Lock(ctx); err != nil {
							e++
							continue
						}
						t1 := time.Now()
						if err := m.Unlock(ctx); err != nil {
							e++
							continue
						}
						lat = append(lat, t1.Sub(t0).Microseconds(), time.Since(t1).Microseconds())
						g++
					}
				} else {
					key := "/bench/contended"
					me := fmt.Sprintf("client-%d", i)
					for time.Now().Before(end) {
						t0 := time.Now()
						tr, err := w.cli.Txn(ctx).
							If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
							Then(clientv3.OpPut(key, me, clientv3.WithLease(w.sess.Lease()))).
							Commit()
						lat = append(lat, time.Since(t0).Microseconds())
						if err != nil {
							e++
							continue
						}
						if !tr.Succeeded {
							r++
							continue
						}
						g++
						t1 := time.Now()
						if _, err := w.cli.Delete(ctx, key); err != nil {
							e++
						}
						lat = append(lat, time.Since(t1).Microseconds())
					}
				}
				mu.Lock()
				all = append(all, lat...)
				grants += g
				refusals += r
				errs += e
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		for _, w := range ws {
			w.close()
		}
		fmt.Printf("secs %.3f\n", el)
		report(all, grants, refusals, errs)
	default:
		fail("unknown -mode %q", *mode)
	}
}

func report(lat []int64, grants, refusals, errs int64) {
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	fmt.Printf("grants %d\nrefusals %d\nerrors %d\nops %d\n", grants, refusals, errs, len(lat))
	var b strings.Builder
	b.WriteString("lat_us")
	for _, v := range lat {
		fmt.Fprintf(&b, " %d", v)
	}
	fmt.Println(b.String())
}
