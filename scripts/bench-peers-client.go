// The peers' side of `npm run bench:peers`: NATS JetStream through its Go client (Debian's
// golang-github-nats-io-go-nats-dev), Redis Streams through RESP on raw sockets, and the
// loopback TCP round trip the numbers are judged against. Built by scripts/bench-peers.ts with
// GO111MODULE=off and GOPATH at Debian's Go source tree (offline). One workload per run; the
// last line printed is one JSON object of its figures.
//
//	bench-peers-client echo
//	bench-peers-client rtt       -addr A -count N
//	bench-peers-client produce   -url U -stream S -size B -count N -window W
//	bench-peers-client consume   -url U -stream S -count N -fetch F
//	bench-peers-client latency   -url U -stream S -size B -count N
//	bench-peers-client e2e       -url U -stream S -size B -count N -rate R
//	bench-peers-client xadd      -addr A -size B -count N -producers P -window W
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

type settings struct {
	url, stream, addr          string
	size, count, window, fetch int
	rate, producers            int
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: bench-peers-client rtt|produce|consume|latency|e2e|xadd [flags]"))
	}
	mode := os.Args[1]
	var s settings
	flags := flag.NewFlagSet(mode, flag.ExitOnError)
	flags.StringVar(&s.url, "url", nats.DefaultURL, "NATS server URL")
	flags.StringVar(&s.stream, "stream", "BENCH", "JetStream stream (its subject is the name in lower case)")
	flags.StringVar(&s.addr, "addr", "127.0.0.1:6379", "Redis address")
	flags.IntVar(&s.size, "size", 128, "message bytes")
	flags.IntVar(&s.count, "count", 100000, "messages")
	flags.IntVar(&s.window, "window", 4096, "publishes in flight")
	flags.IntVar(&s.fetch, "fetch", 1000, "messages per pull")
	flags.IntVar(&s.rate, "rate", 20000, "messages per second")
	flags.IntVar(&s.producers, "producers", 64, "Redis connections")
	_ = flags.Parse(os.Args[2:])
	var figures map[string]any
	switch mode {
	case "echo":
		echo()
	case "rtt":
		figures = roundTrip(s)
	case "produce":
		figures = produce(s)
	case "consume":
		figures = consume(s)
	case "latency":
		figures = latency(s)
	case "e2e":
		figures = endToEnd(s)
	case "xadd":
		figures = xadd(s)
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
	figures["mode"] = mode
	line, _ := json.Marshal(figures)
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-peers-client:", err)
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func percentile(samples []time.Duration, fraction float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	sort.Slice(samples, func(a, b int) bool { return samples[a] < samples[b] })
	index := int(float64(len(samples)) * fraction)
	if index >= len(samples) {
		index = len(samples) - 1
	}
	return float64(samples[index].Microseconds())
}

func rate(count int, elapsed time.Duration) int {
	return int(float64(count) / elapsed.Seconds())
}

// echo: a loopback TCP echo server in its own process (it prints its address), so the round
// trip crosses processes as every broker request does.
func echo() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	fmt.Println(listener.Addr().String())
	for {
		conn, err := listener.Accept()
		check(err)
		go func() { _, _ = io.Copy(conn, conn) }()
	}
}

// roundTrip: one byte ping-pong with the echo process at -addr, the floor of any request.
func roundTrip(s settings) map[string]any {
	conn, err := net.Dial("tcp", s.addr)
	check(err)
	buffer := []byte{1}
	samples := make([]time.Duration, 0, s.count)
	for index := 0; index < s.count; index++ {
		started := time.Now()
		_, err = conn.Write(buffer)
		check(err)
		_, err = io.ReadFull(conn, buffer)
		check(err)
		samples = append(samples, time.Since(started))
	}
	return map[string]any{"p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99)}
}

func jetStream(s settings, options ...nats.JSOpt) (*nats.Conn, nats.JetStreamContext) {
	conn, err := nats.Connect(s.url)
	check(err)
	js, err := conn.JetStream(options...)
	check(err)
	return conn, js
}

func subject(s settings) string {
	return "bench." + s.stream
}

// ensureStream creates the file-stored stream if it does not exist yet.
func ensureStream(js nats.JetStreamContext, s settings) {
	if _, err := js.StreamInfo(s.stream); err == nil {
		return
	}
	_, err := js.AddStream(&nats.StreamConfig{Name: s.stream, Subjects: []string{subject(s)}, Storage: nats.FileStorage})
	check(err)
}

// produce: PublishAsync with up to -window acknowledgements outstanding.
func produce(s settings) map[string]any {
	conn, js := jetStream(s, nats.PublishAsyncMaxPending(s.window))
	defer conn.Close()
	ensureStream(js, s)
	body := make([]byte, s.size)
	started := time.Now()
	for index := 0; index < s.count; index++ {
		_, err := js.PublishAsync(subject(s), body)
		check(err)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		fail(fmt.Errorf("publishes not acknowledged within 5 minutes"))
	}
	elapsed := time.Since(started)
	return map[string]any{"msgs_s": rate(s.count, elapsed), "mb_s": float64(s.count*s.size) / elapsed.Seconds() / 1e6, "size": s.size, "window": s.window}
}

// consume: a durable pull consumer without acks fetching -fetch messages per request.
func consume(s settings) map[string]any {
	conn, js := jetStream(s)
	defer conn.Close()
	subscription, err := js.PullSubscribe(subject(s), "bench-"+strconv.Itoa(int(time.Now().UnixNano()%1e9)), nats.AckNone(), nats.DeliverAll(), nats.BindStream(s.stream))
	check(err)
	received := 0
	started := time.Now()
	for received < s.count {
		messages, err := subscription.Fetch(s.fetch, nats.MaxWait(5*time.Second))
		check(err)
		received += len(messages)
	}
	elapsed := time.Since(started)
	return map[string]any{"msgs_s": rate(received, elapsed), "msgs": received, "fetch": s.fetch}
}

// latency: one synchronous publish in flight, its acknowledgement round trip.
func latency(s settings) map[string]any {
	conn, js := jetStream(s)
	defer conn.Close()
	ensureStream(js, s)
	body := make([]byte, s.size)
	samples := make([]time.Duration, 0, s.count)
	for index := 0; index < s.count; index++ {
		started := time.Now()
		_, err := js.Publish(subject(s), body)
		check(err)
		samples = append(samples, time.Since(started))
	}
	return map[string]any{"p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99), "size": s.size}
}

// endToEnd: publishes at -rate per second, each carrying its send time, through a push
// consumer without acks in the same process.
func endToEnd(s settings) map[string]any {
	conn, js := jetStream(s, nats.PublishAsyncMaxPending(4096))
	defer conn.Close()
	ensureStream(js, s)
	var mutex sync.Mutex
	samples := make([]time.Duration, 0, s.count)
	done := make(chan struct{})
	var received int64
	_, err := js.Subscribe(subject(s), func(message *nats.Msg) {
		sent := int64(binary.BigEndian.Uint64(message.Data))
		mutex.Lock()
		samples = append(samples, time.Duration(time.Now().UnixNano()-sent))
		mutex.Unlock()
		if atomic.AddInt64(&received, 1) == int64(s.count) {
			close(done)
		}
	}, nats.AckNone(), nats.DeliverNew())
	check(err)
	interval := time.Second / time.Duration(s.rate)
	started := time.Now()
	for index := 0; index < s.count; index++ {
		due := started.Add(time.Duration(index) * interval)
		if wait := time.Until(due); wait > time.Millisecond {
			time.Sleep(wait)
		}
		body := make([]byte, s.size)
		binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		_, err := js.PublishAsync(subject(s), body)
		check(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		fail(fmt.Errorf("only %d of %d messages arrived", atomic.LoadInt64(&received), s.count))
	}
	mutex.Lock()
	defer mutex.Unlock()
	return map[string]any{"p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99), "rate": s.rate}
}

// xadd: -producers connections, each with -window XADD commands pipelined, to one stream.
func xadd(s settings) map[string]any {
	body := make([]byte, s.size)
	for index := range body {
		body[index] = 'a'
	}
	command := []byte(fmt.Sprintf("*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nb\r\n$%d\r\n%s\r\n", s.size, body))
	var next int64
	var wait sync.WaitGroup
	started := time.Now()
	for producer := 0; producer < s.producers; producer++ {
		wait.Add(1)
		go func() {
			defer wait.Done()
			conn, err := net.Dial("tcp", s.addr)
			check(err)
			defer conn.Close()
			reader := bufio.NewReader(conn)
			writer := bufio.NewWriterSize(conn, 64*1024)
			inFlight := 0
			for {
				for inFlight < s.window && atomic.AddInt64(&next, 1) <= int64(s.count) {
					_, err = writer.Write(command)
					check(err)
					inFlight++
				}
				check(writer.Flush())
				if inFlight == 0 {
					return
				}
				line, err := reader.ReadString('\n')
				check(err)
				if line[0] != '$' {
					fail(fmt.Errorf("XADD answered %q", line))
				}
				length, err := strconv.Atoi(line[1 : len(line)-2])
				check(err)
				_, err = reader.Discard(length + 2)
				check(err)
				inFlight--
			}
		}()
	}
	wait.Wait()
	elapsed := time.Since(started)
	return map[string]any{"msgs_s": rate(s.count, elapsed), "size": s.size, "producers": s.producers, "window": s.window}
}
