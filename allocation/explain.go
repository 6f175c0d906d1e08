package allocation

import (
	"math"
	"strconv"
)

// Reason says why a student was not admitted to a school it chose.
type Reason string

// The reasons.
const (
	// ReasonFull: the school filled its seats with students of higher
	// priority; MissedBy says which part of the priority decided.
	ReasonFull Reason = "full"
	// ReasonFilledEarlier (Boston only): the school filled in an earlier
	// round, with students who ranked it higher, before the student's
	// application was considered.
	ReasonFilledEarlier Reason = "filled_earlier_round"
	// ReasonNoSeats: the school offered no seats.
	ReasonNoSeats Reason = "no_seats"
)

// MissedBy names the part of the priority tuple in which a student fell
// short of a school's cutoff.
type MissedBy string

// The parts of the priority tuple.
const (
	MissedByClass   MissedBy = "class"
	MissedByScore   MissedBy = "score"
	MissedByLottery MissedBy = "lottery"
)

// An Explanation says why a student did not get a school it ranked above
// the one it obtained, in Vietnamese and in English.
type Explanation struct {
	// School is the school id; ChoiceRank its 1-based rank in the
	// student's choices.
	School     string
	ChoiceRank int
	// Reason is why the student was not admitted.
	Reason Reason
	// MissedBy is set when Reason is ReasonFull.
	MissedBy MissedBy
	// Priority is the student's priority at the school; Cutoff the
	// school's cutoff (nil when Reason is ReasonNoSeats).
	Priority Priority
	Cutoff   *Priority
	// VI and EN are the explanation in words for parents.
	VI, EN string
}

// Explain returns, for the student at index i of Assignments, one
// Explanation for each school it ranked above the one it obtained (for a
// student placed administratively or not at all: every school it chose),
// in choice order. Deferred acceptance is stable, so each of those schools
// is full and the student's priority there comes after the cutoff. Explain
// may be called from several goroutines at once.
func (r *Result) Explain(i int) []Explanation {
	var out []Explanation
	var e Explanation
	var vi, en []byte
	r.explanations(int32(i), &e, func(e *Explanation, v, n []byte) {
		e.VI, e.EN = string(v), string(n)
		out = append(out, *e)
	}, &vi, &en)
	return out
}

// explanations calls yield with the explanation of each refusal of
// student i, built in the scratch *e, its texts in the scratch buffers
// *vi and *en; all three are only valid during the call. The scratch
// comes from the caller so that writing a city's explanations allocates
// nothing per student. The single-lottery digest is computed once per
// student, not once per school.
func (r *Result) explanations(i int32, e *Explanation, yield func(e *Explanation, vi, en []byte), vi, en *[]byte) {
	c, o := r.c, r.out
	lo, hi := c.off[i], c.off[i+1]
	if o.held[i] >= 0 {
		hi = o.held[i]
	}
	if lo == hi {
		return
	}
	var single [32]byte
	if !c.multiple {
		single = LotteryDigest(c.inst.Seed, c.inst.Students[i].ID)
	}
	for j := lo; j < hi; j++ {
		*e = Explanation{}
		*vi, *en = r.explainChoice(e, i, j, &single, (*vi)[:0], (*en)[:0])
		yield(e, *vi, *en)
	}
}

// explainChoice explains the refusal of student i at flat choice j into e,
// appending the texts to vi and en.
func (r *Result) explainChoice(e *Explanation, i, j int32, single *[32]byte, vi, en []byte) ([]byte, []byte) {
	c, o := r.c, r.out
	s := c.choice[j]
	sc := &c.inst.Schools[s]
	rank := int64(j-c.off[i]) + 1
	mine := c.keyOf(i, j)
	e.School, e.ChoiceRank = sc.ID, int(rank)
	e.Priority = Priority{Class: int(mine.class)}
	if c.scored[s] && mine.score != noScore {
		e.Priority.HasScore, e.Priority.Score = true, scoreFromKey(mine.score)
	}
	if c.multiple {
		e.Priority.Lottery = c.digest(i, s)
	} else {
		e.Priority.Lottery = *single
	}
	vi = strconv.AppendInt(append(vi, "Nguyện vọng "...), rank, 10)
	vi = append(append(append(vi, ", trường "...), sc.ID...), ": "...)
	en = strconv.AppendInt(append(en, "Choice "...), rank, 10)
	en = append(append(append(en, ", school "...), sc.ID...), ": "...)
	if c.quota[s] == 0 {
		e.Reason = ReasonNoSeats
		vi = append(vi, "trường không có chỉ tiêu tuyển sinh trong đợt này."...)
		en = append(en, "the school offered no seats in this round."...)
		return vi, en
	}
	cut := o.cutoff[s]
	cp := r.Schools[s].Cutoff
	e.Cutoff = cp
	q := int64(sc.Quota)
	if o.filled != nil && (int64(o.filled[s]) < rank || cp == nil || !c.less(cut, mine, s)) {
		// Boston: the school was full before this round.
		e.Reason = ReasonFilledEarlier
		fr := int64(o.filled[s])
		vi = strconv.AppendInt(append(vi, "trường đã nhận đủ "...), q, 10)
		vi = strconv.AppendInt(append(vi, " chỉ tiêu ngay ở vòng "...), fr, 10)
		vi = strconv.AppendInt(append(vi, ", trước khi xét đến nguyện vọng "...), rank, 10)
		vi = append(vi, " của con. Theo cách xét tuyển này (Boston), học sinh đặt trường ở nguyện vọng cao hơn được xét trước."...)
		en = strconv.AppendInt(append(en, "the school filled all "...), q, 10)
		en = strconv.AppendInt(append(en, " seats in round "...), fr, 10)
		en = strconv.AppendInt(append(en, ", before your choice "...), rank, 10)
		en = append(en, " was considered. Under this mechanism (Boston), students who ranked the school higher are considered first."...)
		return vi, en
	}
	e.Reason = ReasonFull
	vi = append(strconv.AppendInt(append(vi, "trường đã nhận đủ "...), q, 10), " chỉ tiêu. "...)
	en = append(strconv.AppendInt(append(en, "the school filled all "...), q, 10), " seats. "...)
	switch {
	case mine.class != cut.class:
		e.MissedBy = MissedByClass
		vi = strconv.AppendInt(append(vi, "Học sinh cuối cùng được nhận thuộc mức ưu tiên "...), int64(cut.class)+1, 10)
		vi = append(append(append(vi, " ("...), r.classWords(cut.class, true)...), "); con thuộc mức ưu tiên "...)
		vi = strconv.AppendInt(vi, int64(mine.class)+1, 10)
		vi = append(append(append(vi, " ("...), r.classWords(mine.class, true)...), "), được xét sau."...)
		en = strconv.AppendInt(append(en, "The last student admitted had priority level "...), int64(cut.class)+1, 10)
		en = append(append(append(en, " ("...), r.classWords(cut.class, false)...), "); your child has level "...)
		en = strconv.AppendInt(en, int64(mine.class)+1, 10)
		en = append(append(append(en, " ("...), r.classWords(mine.class, false)...), "), which comes later."...)
	case mine.score != cut.score:
		e.MissedBy = MissedByScore
		y := cp.Score
		if e.Priority.HasScore {
			x := e.Priority.Score
			vi = appendVINumber(append(vi, "Con cùng mức ưu tiên với học sinh cuối cùng được nhận, nhưng điểm của con ("...), x)
			vi = append(appendVINumber(append(vi, ") thấp hơn điểm của học sinh cuối cùng được nhận ("...), y), ")."...)
			en = appendENNumber(append(en, "Your child had the same priority level as the last student admitted, but a lower score ("...), x)
			en = append(appendENNumber(append(en, " against "...), y), ")."...)
		} else {
			vi = append(appendVINumber(append(vi, "Con cùng mức ưu tiên với học sinh cuối cùng được nhận, nhưng con không có điểm tại trường này, còn học sinh đó có điểm "...), y), '.')
			en = append(appendENNumber(append(en, "Your child had the same priority level as the last student admitted, but no score at this school, while that student had "...), y), '.')
		}
	default:
		e.MissedBy = MissedByLottery
		n := lotteryPrefixLen(&e.Priority.Lottery, &cp.Lottery)
		vi = append(vi, "Con cùng mức ưu tiên"...)
		en = append(en, "Your child had the same priority level"...)
		if e.Priority.HasScore {
			vi = append(vi, " và cùng điểm"...)
			en = append(en, " and score"...)
		}
		vi = append(vi, " với học sinh cuối cùng được nhận, nên thứ tự do bốc thăm công khai quyết định: số bốc thăm của con"...)
		en = append(en, " as the last student admitted, so the public lottery decided: your child's number"...)
		if c.multiple {
			vi = append(vi, " tại trường này"...)
			en = append(en, " at this school"...)
		}
		vi = appendHexPrefix(append(vi, " ("...), &e.Priority.Lottery, n)
		vi = appendHexPrefix(append(vi, "…) lớn hơn số của học sinh cuối cùng được nhận ("...), &cp.Lottery, n)
		vi = append(vi, "…); số nhỏ hơn được xét trước."...)
		en = appendHexPrefix(append(en, " ("...), &e.Priority.Lottery, n)
		en = appendHexPrefix(append(en, "…) is higher than that of the last student admitted ("...), &cp.Lottery, n)
		en = append(en, "…); lower numbers come first."...)
	}
	return vi, en
}

// classWords describes a priority class in words.
func (r *Result) classWords(class uint32, vi bool) string {
	rules := r.c.rules
	if int(class) < len(rules) {
		if vi {
			return rules[class].vi
		}
		return rules[class].en
	}
	if vi {
		return "không thuộc diện ưu tiên nào"
	}
	return "none of the priority rules"
}

// lotteryPrefixLen is the number of hex digits, at least 8, that tells
// two digests apart.
func lotteryPrefixLen(a, b *[32]byte) int {
	d := 0 // the first digit that differs
	for d < 63 && hexDigit(a, d) == hexDigit(b, d) {
		d++
	}
	return max(8, d+1)
}

func hexDigit(d *[32]byte, k int) byte {
	if k%2 == 0 {
		return d[k/2] >> 4
	}
	return d[k/2] & 0xf
}

// appendHexPrefix appends the first n hex digits of d.
func appendHexPrefix(b []byte, d *[32]byte, n int) []byte {
	const digits = "0123456789abcdef"
	for k := range n {
		b = append(b, digits[hexDigit(d, k)])
	}
	return b
}

// appendVINumber writes a number with a decimal comma, as Vietnamese does.
func appendVINumber(b []byte, f float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for k := start; k < len(b); k++ {
		if b[k] == '.' {
			b[k] = ','
		}
	}
	return b
}

func appendENNumber(b []byte, f float64) []byte { return strconv.AppendFloat(b, f, 'f', -1, 64) }

// AssignmentNote returns, for the student at index i of Assignments, the
// sentence that explains its own line, in Vietnamese and in English, or
// two empty strings: for an administrative placement, why this school (the
// nearest with a free seat at the student's turn); for a guaranteed
// student left without a seat, why administrative placement did not seat
// it.
func (r *Result) AssignmentNote(i int) (vi, en string) { return r.assignmentNote(i) }

func (r *Result) assignmentNote(i int) (vi, en string) {
	if r.Assignments[i].Via == ViaAdministrative {
		v, e := r.appendAdministrativeNote(nil, nil, i)
		return string(v), string(e)
	}
	return r.unassignedNote(i)
}

// appendAdministrativeNote appends to vi and en the note of the student
// at index i of Assignments, placed administratively.
func (r *Result) appendAdministrativeNote(vi, en []byte, i int) ([]byte, []byte) {
	a := &r.Assignments[i]
	km := math.Round(a.DistanceKm*100) / 100
	vi = append(vi, "Không trường nào trong các nguyện vọng còn chỗ cho con; vì con thuộc diện được bảo đảm chỗ học, con được điều tiết vào trường "...)
	vi = append(append(vi, a.School...), ": trường gần nơi ở của con nhất (khoảng "...)
	vi = append(appendVINumber(vi, km), " km) còn chỗ trống khi đến lượt con (lượt xét theo số bốc thăm)."...)
	en = append(en, "None of the schools chosen had a seat for your child; as a child guaranteed a public place, your child was placed by the authority at school "...)
	en = append(append(en, a.School...), ": the school nearest home (about "...)
	en = append(appendENNumber(en, km), " km) that still had a free seat at your child's turn (turns follow the lottery numbers)."...)
	return vi, en
}

// unassignedNote is assignmentNote for a student not placed
// administratively.
func (r *Result) unassignedNote(i int) (vi, en string) {
	a := &r.Assignments[i]
	s := &r.c.inst.Students[i]
	switch {
	case a.Via == ViaUnassigned && s.Guaranteed && !r.c.inst.AdministrativePlacement:
		return "Con thuộc diện được bảo đảm chỗ học nhưng chưa có chỗ: lượt phân tuyến này không điều tiết; cơ quan quản lý sẽ xếp chỗ cho con.",
			"Your child is guaranteed a public place but has no seat yet: this run does not place children administratively; the authority will place your child."
	case a.Via == ViaUnassigned && s.Guaranteed && s.Location == nil:
		return "Con thuộc diện được bảo đảm chỗ học nhưng chưa có chỗ: hồ sơ không có vị trí nơi ở nên không thể điều tiết vào trường gần nhất còn chỗ; cơ quan quản lý sẽ liên hệ để xếp chỗ cho con.",
			"Your child is guaranteed a public place but has no seat yet: the application has no home location, so your child could not be placed at the nearest school with a free seat; the authority will contact you to place your child."
	case a.Via == ViaUnassigned && s.Guaranteed:
		return "Con thuộc diện được bảo đảm chỗ học nhưng chưa có chỗ: khi đến lượt con, không trường nào còn chỗ trống; cơ quan quản lý sẽ tăng chỉ tiêu hoặc xếp chỗ cho con.",
			"Your child is guaranteed a public place but has no seat yet: at your child's turn no school had a free seat; the authority will raise a quota or place your child."
	}
	return "", ""
}
