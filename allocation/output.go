package allocation

import (
	"io"
	"runtime"
	"strconv"
	"unicode/utf8"
)

// WriteJSON writes the result file: one JSON object with the run's
// parameters, "assignments" (one line per student, in input order, each
// with its explanations), "schools" (input order) and "stats". The
// package documentation describes every field. The output is a function of
// the Result alone, so equal results give equal bytes.
//
// The students' lines, most of the file, are formatted on as many
// goroutines as GOMAXPROCS, a chunk of them at a time, and written in
// order.
func (r *Result) WriteJSON(w io.Writer) error {
	return r.writeJSON(w, runtime.GOMAXPROCS(0))
}

// writeJSON is WriteJSON formatting the students' lines on up to workers
// goroutines.
func (r *Result) writeJSON(w io.Writer, workers int) error {
	ew := &errWriter{w: w, buf: make([]byte, 0, 1<<18)}
	plain := r.plainTexts()
	b := ew.buf
	b = append(b, `{"level":`...)
	b = appendString(b, r.Level)
	b = append(b, `,"seed":`...)
	b = appendString(b, r.Seed)
	b = append(b, `,"mechanism":`...)
	b = appendString(b, string(r.Mechanism))
	b = append(b, `,"tie_break":`...)
	b = appendString(b, string(r.TieBreak))
	b = append(b, `,"priority_rules":[`...)
	for k, s := range r.PriorityRules {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	b = append(b, "],\n\"assignments\":["...)
	if b = r.writeAssignments(ew, b, plain, workers); ew.err != nil {
		return ew.err
	}
	b = append(b, "\n],\n\"schools\":["...)
	for k := range r.Schools {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = appendSchool(b, &r.Schools[k])
		b = ew.flush(b, false)
	}
	b = append(b, "\n],\n\"stats\":"...)
	b = appendStats(b, &r.Stats)
	b = append(b, "}\n"...)
	ew.flush(b, true)
	return ew.err
}

// assignmentChunk is how many students' lines a goroutine of WriteJSON
// formats at a time: about 400 KB.
const assignmentChunk = 512

// writeAssignments writes the students' lines after b, the file so far,
// and returns the buffer to go on with. With more than one worker and
// more than one chunk of students, workers goroutines format the chunks
// into buffers of their own while this one writes them in order, at most
// 2*workers chunks ahead of the writing.
func (r *Result) writeAssignments(ew *errWriter, b []byte, plain bool, workers int) []byte {
	n := len(r.Assignments)
	if workers = min(workers, (n+assignmentChunk-1)/assignmentChunk); workers <= 1 {
		sc := scratch{plain: plain}
		for i := range n {
			b = r.appendAssignments(b, i, i+1, &sc)
			if b = ew.flush(b, false); ew.err != nil {
				return b
			}
		}
		return b
	}
	if b = ew.flush(b, true); ew.err != nil {
		return b
	}
	type job struct {
		lo, hi int
		buf    []byte
		done   chan []byte
	}
	jobs := make(chan job)
	ahead := 2 * workers
	order := make(chan chan []byte, ahead) // the chunks' results, in file order
	free := make(chan []byte, ahead)       // the buffers not in use
	for range ahead {
		free <- make([]byte, 0, assignmentChunk<<11) // 2 KiB a student; a longer chunk grows it
	}
	go func() {
		for lo := 0; lo < n; lo += assignmentChunk {
			j := job{lo: lo, hi: min(lo+assignmentChunk, n), buf: <-free, done: make(chan []byte, 1)}
			order <- j.done
			jobs <- j
		}
		close(jobs)
		close(order)
	}()
	for range workers {
		go func() {
			sc := scratch{plain: plain}
			for j := range jobs {
				j.done <- r.appendAssignments(j.buf[:0], j.lo, j.hi, &sc)
			}
		}()
	}
	for done := range order {
		chunk := <-done
		if ew.err == nil { // after an error, only wait for the goroutines to finish
			_, ew.err = ew.w.Write(chunk)
		}
		free <- chunk
	}
	return b
}

// appendAssignments appends the lines of students lo to hi, each after a
// newline and, but for the file's first, a comma.
func (r *Result) appendAssignments(b []byte, lo, hi int, sc *scratch) []byte {
	for i := lo; i < hi; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = r.appendAssignment(b, i, sc)
	}
	return b
}

// errWriter writes a buffer out when it grows past its capacity and keeps
// the first error.
type errWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (e *errWriter) flush(b []byte, final bool) []byte {
	if e.err != nil || (!final && len(b) < cap(e.buf)-4096) {
		return b
	}
	_, e.err = e.w.Write(b)
	return b[:0]
}

// plainTexts reports whether every explanation text and note is a plain
// string, one that JSON holds as it is: valid UTF-8 without quotes,
// backslashes, control characters or U+2028 and U+2029. The texts are made
// of fixed words (plain; TestExplanationTextsPlain and TestNoteTexts hold
// them to it), numbers, lottery digits, the words of the priority rules
// and school ids, so they are plain when the ids and the rules' words are. WriteJSON then copies
// each text instead of escaping it rune by rune: most of them are
// Vietnamese, and escaping them was a third of the time of writing a
// city's result.
func (r *Result) plainTexts() bool {
	if r.c == nil {
		return false
	}
	for k := range r.c.inst.Schools {
		if !isPlain(r.c.inst.Schools[k].ID) {
			return false
		}
	}
	for _, rl := range r.c.rules {
		if !isPlain(rl.vi) || !isPlain(rl.en) {
			return false
		}
	}
	return isPlain(r.classWords(uint32(len(r.c.rules)), true)) && isPlain(r.classWords(uint32(len(r.c.rules)), false))
}

// isPlain reports whether appendString would copy s unchanged between
// its quotes.
func isPlain(s string) bool {
	b := appendString(make([]byte, 0, len(s)+2), s)
	return string(b[1:len(b)-1]) == s
}

// scratch is what WriteJSON reuses from one student to the next.
type scratch struct {
	e      Explanation
	vi, en []byte
	plain  bool // the texts need no escaping; see plainTexts
}

func (r *Result) appendAssignment(b []byte, i int, sc *scratch) []byte {
	a := &r.Assignments[i]
	b = append(b, `{"student":`...)
	b = appendString(b, a.Student)
	b = append(b, `,"school":`...)
	if a.School == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, a.School)
	}
	b = append(b, `,"choice_rank":`...)
	b = strconv.AppendInt(b, int64(a.ChoiceRank), 10)
	b = append(b, `,"via":"`...)
	b = append(b, a.Via...)
	b = append(b, '"')
	if a.Via == ViaAdministrative {
		b = append(b, `,"distance_km":`...)
		b = appendFloat(b, a.DistanceKm)
	}
	if a.Via == ViaAdministrative {
		sc.vi, sc.en = r.appendAdministrativeNote(sc.vi[:0], sc.en[:0], i)
		b = appendNote(b, sc.plain, sc.vi, sc.en)
	} else if vi, en := r.unassignedNote(i); vi != "" {
		b = appendNote(b, sc.plain, vi, en)
	}
	first := true
	r.explanations(int32(i), &sc.e, func(e *Explanation, vi, en []byte) {
		if first {
			b = append(b, `,"explanations":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = appendExplanation(b, e, sc.plain, vi, en)
	}, &sc.vi, &sc.en)
	if !first {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendNote appends the note of a student's line; plain says its texts
// need no escaping, as for the explanations (see plainTexts).
func appendNote[T string | []byte](b []byte, plain bool, vi, en T) []byte {
	if plain {
		b = append(b, `,"vi":"`...)
		b = append(b, vi...)
		b = append(b, `","en":"`...)
		b = append(b, en...)
		return append(b, '"')
	}
	b = append(b, `,"vi":`...)
	b = appendString(b, vi)
	b = append(b, `,"en":`...)
	return appendString(b, en)
}

// appendExplanation appends one explanation; plain says its texts need no
// escaping (see plainTexts).
func appendExplanation[T string | []byte](b []byte, e *Explanation, plain bool, vi, en T) []byte {
	b = append(b, `{"school":`...)
	b = appendString(b, e.School)
	b = append(b, `,"choice_rank":`...)
	b = strconv.AppendInt(b, int64(e.ChoiceRank), 10)
	b = append(b, `,"reason":"`...)
	b = append(b, e.Reason...)
	b = append(b, '"')
	if e.MissedBy != "" {
		b = append(b, `,"missed_by":"`...)
		b = append(b, e.MissedBy...)
		b = append(b, '"')
	}
	b = append(b, `,"priority":`...)
	b = appendPriority(b, e.Priority)
	if plain {
		b = append(b, `,"vi":"`...)
		b = append(b, vi...)
		b = append(b, `","en":"`...)
		b = append(b, en...)
		return append(b, `"}`...)
	}
	b = append(b, `,"vi":`...)
	b = appendString(b, vi)
	b = append(b, `,"en":`...)
	b = appendString(b, en)
	return append(b, '}')
}

func appendSchool(b []byte, s *SchoolResult) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = appendIntField(b, "quota", s.Quota)
	b = appendIntField(b, "admitted", s.Admitted)
	b = appendIntField(b, "admitted_by_choice", s.AdmittedByChoice)
	b = appendIntField(b, "administrative", s.Administrative)
	b = append(b, `,"cutoff":`...)
	if s.Cutoff == nil {
		b = append(b, "null"...)
	} else {
		b = appendPriority(b, *s.Cutoff)
	}
	if s.FilledRound > 0 {
		b = appendIntField(b, "filled_round", s.FilledRound)
	}
	return append(b, '}')
}

func appendStats(b []byte, s *Stats) []byte {
	b = append(b, `{"students":`...)
	b = strconv.AppendInt(b, int64(s.Students), 10)
	for _, f := range []struct {
		name string
		v    int
	}{
		{"schools", s.Schools},
		{"seats", s.Seats},
		{"assigned_by_choice", s.AssignedByChoice},
		{"administrative", s.Administrative},
		{"unassigned", s.Unassigned},
		{"guaranteed", s.Guaranteed},
		{"unassigned_guaranteed", s.UnassignedGuaranteed},
		{"unassigned_guaranteed_no_location", s.UnassignedGuaranteedNoLocation},
		{"free_seats", s.FreeSeats},
		{"full_schools", s.FullSchools},
		{"schools_filled_by_choice", s.SchoolsFilledByChoice},
		{"proposals", s.Proposals},
	} {
		b = appendIntField(b, f.name, f.v)
	}
	b = append(b, `,"choice_rank_histogram":[`...)
	for k, n := range s.ChoiceRankHistogram {
		if k > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, "]}"...)
}

func appendIntField(b []byte, name string, v int) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(v), 10)
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as with encoding/json; HTML characters are not escaped.
func appendString[T string | []byte](b []byte, s T) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainByte[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendExplanationsJSON appends the explanations of the student at index
// i of Assignments as the JSON array the result file gives it (an empty
// array when there are none), so a store can keep each student's line
// apart, byte for byte as in the file.
func (r *Result) AppendExplanationsJSON(b []byte, i int) []byte {
	var sc scratch
	sc.plain = r.plainTexts()
	return r.appendExplanationsWith(b, i, &sc)
}

// appendExplanationsWith is AppendExplanationsJSON with the caller's
// scratch.
func (r *Result) appendExplanationsWith(b []byte, i int, sc *scratch) []byte {
	b = append(b, '[')
	first := true
	r.explanations(int32(i), &sc.e, func(e *Explanation, vi, en []byte) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendExplanation(b, e, sc.plain, vi, en)
	}, &sc.vi, &sc.en)
	return append(b, ']')
}

// Explainer writes the explanations of many students, reusing its scratch
// and deciding once whether texts need escaping. It is not safe for use by
// several goroutines at once.
type Explainer struct {
	r  *Result
	sc scratch
}

// NewExplainer returns an Explainer of r.
func (r *Result) NewExplainer() *Explainer {
	return &Explainer{r: r, sc: scratch{plain: r.plainTexts()}}
}

// AppendJSON is Result.AppendExplanationsJSON.
func (x *Explainer) AppendJSON(b []byte, i int) []byte {
	return x.r.appendExplanationsWith(b, i, &x.sc)
}
