//! The Federal Ministry of Finance's wage-tax programme (Programmablaufplan, PAP) "für die
//! maschinelle Berechnung der vom Arbeitslohn einzubehaltenden Lohnsteuer, des
//! Solidaritätszuschlags und der Maßstabsteuer für die Kirchenlohnsteuer", editions 2025 (BMF
//! letter of 22 January 2025) and 2026 (BMF letter of 12 November 2025), written anew from the
//! published pseudo-code in exact `Decimal` arithmetic.
//!
//! Names follow the PAP: inputs (`LZZ`, `STKL`, `RE4`, `SONSTB`, …) in [`PapInput`], outputs
//! (`LSTLZZ`, `SOLZLZZ`, `BK`, `STS`, `SOLZS`, `BKS`) in [`PapOutput`], and every method
//! (MPARA, MRE4JL, MRE4ABZ, MBERECH, MZTABFB, MLSTJAHR, UPEVP, MVSP / MVSPKVPV / MVSPHB, UPMLST,
//! UPTAB, MST5_6, UP5_6, MSOLZ, UPANTEIL, MSONST, MOSONST, MRE4SONST, STSMIN, MSOLZSTS) is a
//! function of the same name. Every rounding is the PAP's own, at its own step: [`down`] is the
//! pseudo-code's `ROUND_DOWN` (towards zero), [`up`] its `ROUND_UP` (away from zero), [`div`]
//! a division with `ROUND_DOWN` to a scale. Amounts in and out are in cents, as in the PAP.
//!
//! Not implemented, because no person data tokencomp holds reaches them: pension payments
//! (Versorgungsbezüge: VBEZ, VBEZM, VBEZS, VBS, STERBE, VJAHR, ZMVB) and the old-age relief
//! (ALTER1, AJAHR). They are absent from [`PapInput`], which is the PAP with those inputs at 0;
//! the tables TAB1–TAB5 and the allowances that depend on them are therefore not needed.

use tokencomp_money::Decimal;
use tokencomp_money::Decimal as D;

use super::params::{DeYear, Edition, VorsorgeEdition};

/// Lohnzahlungszeitraum (LZZ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lzz {
    Year = 1,
    Month = 2,
    Week = 3,
    Day = 4,
}

/// Krankenversicherung (PKV): statutory, or private without / with the employer's subsidy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkv {
    Statutory = 0,
    PrivateWithoutSubsidy = 1,
    PrivateWithSubsidy = 2,
}

/// The PAP's inputs (amounts in cents, integral). Pension-payment and old-age inputs are 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PapInput {
    pub lzz: Lzz,
    /// Steuerklasse 1–6.
    pub stkl: u8,
    /// `af = 1` and the factor `f` (three decimals) of class IV with factor; `None`: af = 0.
    pub f: Option<Decimal>,
    /// ZKF: child allowances (one decimal).
    pub zkf: Decimal,
    /// R > 0: a member of a church that levies church tax.
    pub r: bool,
    /// RE4: the regular wage of the pay period.
    pub re4: Decimal,
    /// LZZFREIB / LZZHINZU: the ELStAM allowance / addition for the pay period.
    pub lzzfreib: Decimal,
    pub lzzhinzu: Decimal,
    /// SONSTB: the other payment (sonstiger Bezug).
    pub sonstb: Decimal,
    /// JRE4: the expected annual wage without the other payment (earlier ones included).
    pub jre4: Decimal,
    /// JFREIB / JHINZU: the annual allowance / addition.
    pub jfreib: Decimal,
    pub jhinzu: Decimal,
    /// JRE4ENT / SONSTENT: compensation (§24 Nr. 1 EStG) within JRE4 / SONSTB.
    pub jre4ent: Decimal,
    pub sonstent: Decimal,
    /// MBV: untaxed benefits from employee share schemes (§19a (1) S. 4 EStG).
    pub mbv: Decimal,
    /// KRV = 1: not in statutory pension insurance.
    pub krv_exempt: bool,
    /// ALV = 1 (PAP 2026): not in unemployment insurance.
    pub alv_exempt: bool,
    /// KVZ: the fund's additional rate in percent (2.50 for 2.5%).
    pub kvz: Decimal,
    pub pkv: Pkv,
    /// PKPV / PKPVAGZ: the private basic premium and (2026) the employer's subsidy, monthly.
    pub pkpv: Decimal,
    pub pkpvagz: Decimal,
    /// PVS = 1: Saxony's care-insurance split.
    pub pvs: bool,
    /// PVZ = 1: the childless surcharge.
    pub pvz: bool,
    /// PVA: child reductions (0 to 4).
    pub pva: Decimal,
}

impl PapInput {
    /// The PAP's defaults: a monthly wage of 0, class I, statutory health insurance.
    pub fn new(lzz: Lzz, stkl: u8) -> PapInput {
        PapInput {
            lzz,
            stkl,
            f: None,
            zkf: D::ZERO,
            r: false,
            re4: D::ZERO,
            lzzfreib: D::ZERO,
            lzzhinzu: D::ZERO,
            sonstb: D::ZERO,
            jre4: D::ZERO,
            jfreib: D::ZERO,
            jhinzu: D::ZERO,
            jre4ent: D::ZERO,
            sonstent: D::ZERO,
            mbv: D::ZERO,
            krv_exempt: false,
            alv_exempt: false,
            kvz: D::ZERO,
            pkv: Pkv::Statutory,
            pkpv: D::ZERO,
            pkpvagz: D::ZERO,
            pvs: false,
            pvz: false,
            pva: D::ZERO,
        }
    }
}

/// The PAP's standard outputs, in cents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PapOutput {
    /// Wage tax, solidarity surcharge and church-tax base of the pay period's regular wage.
    pub lstlzz: Decimal,
    pub solzlzz: Decimal,
    pub bk: Decimal,
    /// Wage tax, solidarity surcharge and church-tax base of the other payment.
    pub sts: Decimal,
    pub solzs: Decimal,
    pub bks: Decimal,
}

/// `x` rounded towards zero to `scale` places (the PAP's `setScale(scale, ROUND_DOWN)`).
pub fn down(x: Decimal, scale: u32) -> Decimal {
    x.trunc_with_scale(scale)
}

/// `x` rounded away from zero to `scale` places (the PAP's `setScale(scale, ROUND_UP)`).
pub fn up(x: Decimal, scale: u32) -> Decimal {
    let t = x.trunc_with_scale(scale);
    if t == x {
        t
    } else if x > D::ZERO {
        t + Decimal::new(1, scale)
    } else {
        t - Decimal::new(1, scale)
    }
}

/// `a / b` rounded towards zero to `scale` places (the PAP's `divide(b, scale, ROUND_DOWN)`).
/// The quotient is computed to 28 digits and then cut; a quotient that rounded up across the
/// cut (…999 rounded to the next unit) is stepped back, so the result is exact.
pub fn div(a: Decimal, b: Decimal, scale: u32) -> Decimal {
    let q = down(a / b, scale);
    let ulp = Decimal::new(1, scale);
    let back = q * b;
    if a >= D::ZERO && back > a {
        q - ulp
    } else if a < D::ZERO && back < a {
        q + ulp
    } else {
        q
    }
}

fn n(v: i64) -> Decimal {
    Decimal::from(v)
}

/// The working state of one run: the PAP's internal fields that carry between methods.
struct Run<'a> {
    y: &'a DeYear,
    i: &'a PapInput,
    lzz: Lzz,
    /// f, 1 when af = 0.
    f: Decimal,
    kvsatzan: Decimal,
    pvsatzan: Decimal,
    /// 2025, PKV = 2 only.
    kvsatzag: Decimal,
    pvsatzag: Decimal,
    solzfrei: Decimal,
    // Between methods.
    zre4j: Decimal,
    jlfreib: Decimal,
    jlhinzu: Decimal,
    zre4: Decimal,
    zre4vp: Decimal,
    anp: Decimal,
    efa: Decimal,
    sap: Decimal,
    kfb: Decimal,
    kztab: Decimal,
    ztabfb: Decimal,
    vsp: Decimal,
    zve: Decimal,
    x: Decimal,
    st: Decimal,
}

/// Runs the programme (PAP MAIN: MPARA, MRE4JL, MRE4, MRE4ABZ, MBERECH, MSONST).
pub fn run(y: &DeYear, i: &PapInput) -> PapOutput {
    let mut r = Run {
        y,
        i,
        lzz: i.lzz,
        f: i.f.unwrap_or(D::ONE),
        kvsatzan: D::ZERO,
        pvsatzan: D::ZERO,
        kvsatzag: D::ZERO,
        pvsatzag: D::ZERO,
        solzfrei: D::ZERO,
        zre4j: D::ZERO,
        jlfreib: D::ZERO,
        jlhinzu: D::ZERO,
        zre4: D::ZERO,
        zre4vp: D::ZERO,
        anp: D::ZERO,
        efa: D::ZERO,
        sap: D::ZERO,
        kfb: D::ZERO,
        kztab: D::ONE,
        ztabfb: D::ZERO,
        vsp: D::ZERO,
        zve: D::ZERO,
        x: D::ZERO,
        st: D::ZERO,
    };
    let mut out = PapOutput::default();
    r.mpara();
    r.mre4jl();
    r.mre4abz();
    r.mberech(&mut out);
    r.msonst(&mut out);
    out
}

impl Run<'_> {
    /// MPARA: the year's rates for the Vorsorgepauschale; SOLZFREI.
    fn mpara(&mut self) {
        let v = &self.y.vorsorge;
        self.kvsatzan = self.i.kvz / n(2) / n(100) + v.health_rate;
        self.pvsatzan = if self.i.pvs { v.care_rate_saxony } else { v.care_rate };
        if self.i.pvz {
            self.pvsatzan += v.care_childless_surcharge;
        } else {
            self.pvsatzan -= self.i.pva * v.care_child_reduction;
        }
        if let VorsorgeEdition::Pap2025 { employer_care_rate_saxony, .. } = v.edition {
            // KVSATZAG = half the average additional rate + the reduced rate's half.
            self.kvsatzag = v.average_health_additional_rate / n(2) + v.health_rate;
            self.pvsatzag = if self.i.pvs { employer_care_rate_saxony } else { v.care_rate };
        }
        self.solzfrei = self.y.solidarity.exemption;
    }

    /// MRE4JL: the pay period's wage as an annual wage (ZRE4J) and the annual allowances.
    fn mre4jl(&mut self) {
        let (mul, dvs) = match self.lzz {
            Lzz::Year => (n(1), n(100)),
            Lzz::Month => (n(12), n(100)),
            Lzz::Week => (n(360), n(700)),
            Lzz::Day => (n(360), n(100)),
        };
        self.zre4j = div(self.i.re4 * mul, dvs, 2);
        self.jlfreib = div(self.i.lzzfreib * mul, dvs, 2);
        self.jlhinzu = div(self.i.lzzhinzu * mul, dvs, 2);
    }

    /// MRE4ABZ (without pension payments and old-age relief: FVB = ALTE = 0).
    fn mre4abz(&mut self) {
        self.zre4 = down(self.zre4j - self.jlfreib + self.jlhinzu, 2).max(D::ZERO);
        self.zre4vp = self.zre4j;
    }

    /// MBERECH: the regular wage's annual tax, its share of the pay period, the solidarity
    /// surcharge and the church-tax base (with child allowances).
    fn mberech(&mut self, out: &mut PapOutput) {
        self.mztabfb();
        self.mlstjahr();
        let lstjahr = down(self.st * self.f, 0);
        out.lstlzz = self.upanteil(lstjahr * n(100));
        let jbmg = if self.i.zkf > D::ZERO {
            self.ztabfb += self.kfb;
            self.mre4abz();
            self.mlstjahr();
            down(self.st * self.f, 0)
        } else {
            lstjahr
        };
        self.msolz(jbmg, out);
    }

    /// MZTABFB: the allowances worked into the table (ANP, EFA, SAP, KFB, KZTAB, ZTABFB).
    fn mztabfb(&mut self) {
        let w = &self.y.wage_tax;
        self.anp = D::ZERO;
        if self.i.stkl < 6 && self.zre4 > D::ZERO {
            self.anp = if self.zre4 < w.employee_allowance { up(self.zre4, 0) } else { w.employee_allowance };
        }
        self.kztab = D::ONE;
        self.kfb = D::ZERO;
        match self.i.stkl {
            1 => {
                self.sap = w.special_expenses_allowance;
                self.kfb = down(self.i.zkf * w.child_allowance, 0);
            }
            2 => {
                self.efa = w.single_parent_relief;
                self.sap = w.special_expenses_allowance;
                self.kfb = down(self.i.zkf * w.child_allowance, 0);
            }
            3 => {
                self.kztab = n(2);
                self.sap = w.special_expenses_allowance;
                self.kfb = down(self.i.zkf * w.child_allowance, 0);
            }
            4 => {
                self.sap = w.special_expenses_allowance;
                self.kfb = down(self.i.zkf * w.child_allowance_class4, 0);
            }
            5 => self.sap = w.special_expenses_allowance,
            _ => {}
        }
        self.ztabfb = down(self.efa + self.anp + self.sap, 2);
    }

    /// MLSTJAHR: the annual tax ST on ZRE4.
    fn mlstjahr(&mut self) {
        self.upevp();
        self.zve = self.zre4 - self.ztabfb - self.vsp;
        self.upmlst();
    }

    /// UPMLST.
    fn upmlst(&mut self) {
        if self.zve < D::ONE {
            self.zve = D::ZERO;
            self.x = D::ZERO;
        } else {
            self.x = down(self.zve / self.kztab, 0);
        }
        self.tax_on_x();
    }

    fn tax_on_x(&mut self) {
        if self.i.stkl < 5 { self.uptab() } else { self.mst5_6() }
    }

    /// UPEVP: the Vorsorgepauschale VSP.
    fn upevp(&mut self) {
        let v = &self.y.vorsorge;
        match &v.edition {
            VorsorgeEdition::Pap2025 { partial_rate, partial_cap_class3, .. } => {
                let mut zre4vp = self.zre4vp;
                let vsp1 = if self.i.krv_exempt {
                    D::ZERO
                } else {
                    zre4vp = zre4vp.min(v.pension_ceiling);
                    down(zre4vp * v.pension_rate, 2)
                };
                let vhb = if self.i.stkl == 3 { *partial_cap_class3 } else { v.partial_cap };
                let vsp2 = down(zre4vp * partial_rate, 2).min(vhb);
                let vspn = up(vsp1 + vsp2, 0);
                self.mvsp(zre4vp, vsp1);
                if vspn > self.vsp {
                    self.vsp = down(vspn, 2);
                }
            }
            VorsorgeEdition::Pap2026 { unemployment_rate } => {
                let vspr = if self.i.krv_exempt {
                    D::ZERO
                } else {
                    down(self.zre4vp.min(v.pension_ceiling) * v.pension_rate, 2)
                };
                let vspkvpv = self.mvspkvpv(vspr);
                if !self.i.alv_exempt && self.i.stkl != 6 {
                    self.mvsphb(vspr, vspkvpv, *unemployment_rate);
                }
            }
        }
    }

    /// MVSP (PAP 2025): the health and care part VSP3 and VSP.
    fn mvsp(&mut self, zre4vp: Decimal, vsp1: Decimal) {
        let v = &self.y.vorsorge;
        let zre4vp = zre4vp.min(v.health_ceiling);
        let vsp3 = match self.i.pkv {
            Pkv::Statutory => down(zre4vp * (self.kvsatzan + self.pvsatzan), 2),
            _ if self.i.stkl == 6 => D::ZERO,
            Pkv::PrivateWithoutSubsidy => self.i.pkpv * n(12) / n(100),
            Pkv::PrivateWithSubsidy => down(self.i.pkpv * n(12) / n(100) - zre4vp * (self.kvsatzag + self.pvsatzag), 2),
        };
        self.vsp = up(vsp3 + vsp1, 0);
    }

    /// MVSPKVPV (PAP 2026): the health and care part and VSP; returns VSPKVPV.
    fn mvspkvpv(&mut self, vspr: Decimal) -> Decimal {
        let v = &self.y.vorsorge;
        let zre4vpr = self.zre4vp.min(v.health_ceiling);
        let vspkvpv = match self.i.pkv {
            Pkv::Statutory => down(zre4vpr * (self.kvsatzan + self.pvsatzan), 2),
            _ if self.i.stkl == 6 => D::ZERO,
            _ => {
                let pkpvagzj = down(self.i.pkpvagz * n(12) / n(100), 2);
                (down(self.i.pkpv * n(12) / n(100), 2) - pkpvagzj).max(D::ZERO)
            }
        };
        self.vsp = up(vspkvpv + vspr, 0);
        vspkvpv
    }

    /// MVSPHB (PAP 2026): the minimum with unemployment insurance, capped at 1,900 euros.
    fn mvsphb(&mut self, vspr: Decimal, vspkvpv: Decimal, avsatzan: Decimal) {
        let v = &self.y.vorsorge;
        let zre4vpr = self.zre4vp.min(v.pension_ceiling);
        let vspalv = down(avsatzan * zre4vpr, 2);
        let vsphb = down(vspalv + vspkvpv, 2).min(v.partial_cap);
        let vspn = up(vspr + vsphb, 0);
        if vspn > self.vsp {
            self.vsp = vspn;
        }
    }

    /// UPTAB25 / UPTAB26: the tariff of §32a EStG on X, times KZTAB.
    fn uptab(&mut self) {
        let t = &self.y.tariff;
        let x = self.x;
        let st = if x < t.basic_allowance + D::ONE {
            D::ZERO
        } else if x < t.zone3_from {
            let y = div(x - t.basic_allowance, n(10000), 6);
            let rw = y * t.zone2_coefficient + t.zone2_base_rate;
            down(rw * y, 0)
        } else if x < t.zone4_from {
            let y = div(x - (t.zone3_from - D::ONE), n(10000), 6);
            let rw = (y * t.zone3_coefficient + t.zone3_base_rate) * y;
            down(rw + t.zone3_constant, 0)
        } else if x < t.zone5_from {
            down(x * t.zone4_rate - t.zone4_deduction, 0)
        } else {
            down(x * t.zone5_rate - t.zone5_deduction, 0)
        };
        self.st = st * self.kztab;
    }

    /// MST5_6: classes V and VI.
    fn mst5_6(&mut self) {
        let w = &self.y.wage_tax;
        let (w1, w2, w3) = (w.class5_limit1, w.class5_limit2, w.class5_limit3);
        let zzx = self.x;
        let rate42 = self.y.tariff.zone4_rate;
        let rate45 = self.y.tariff.zone5_rate;
        if zzx > w2 {
            self.up5_6(w2);
            if zzx > w3 {
                self.st = down(self.st + (w3 - w2) * rate42, 0);
                self.st = down(self.st + (zzx - w3) * rate45, 0);
            } else {
                self.st = down(self.st + (zzx - w2) * rate42, 0);
            }
        } else {
            self.up5_6(zzx);
            if zzx > w1 {
                let vergl = self.st;
                self.up5_6(w1);
                let hoch = down(self.st + (zzx - w1) * rate42, 0);
                self.st = if hoch < vergl { hoch } else { vergl };
            }
        }
    }

    /// UP5_6: twice the difference of the tax on 1.25 and 0.75 times ZX, at least the minimum
    /// rate of ZX.
    fn up5_6(&mut self, zx: Decimal) {
        let scale = match self.y.edition {
            Edition::Pap2025 => 2,
            Edition::Pap2026 => 0,
        };
        self.x = down(zx * Decimal::new(125, 2), scale);
        self.uptab();
        let st1 = self.st;
        self.x = down(zx * Decimal::new(75, 2), scale);
        self.uptab();
        let st2 = self.st;
        let diff = (st1 - st2) * n(2);
        let mist = down(zx * self.y.wage_tax.class5_minimum_rate, 0);
        self.st = if mist > diff { mist } else { diff };
    }

    /// MSOLZ: the solidarity surcharge and church-tax base of the regular wage. SOLZFREI is
    /// multiplied by KZTAB here and stays so for MSOLZSTS, as in the PAP.
    fn msolz(&mut self, jbmg: Decimal, out: &mut PapOutput) {
        let s = &self.y.solidarity;
        self.solzfrei *= self.kztab;
        out.solzlzz = if jbmg > self.solzfrei {
            let solzj = down(jbmg * s.rate, 2);
            let solzmin = down((jbmg - self.solzfrei) * s.transition_rate, 2);
            let solzj = solzj.min(solzmin);
            let jw = down(solzj * n(100), 0);
            self.upanteil(jw)
        } else {
            D::ZERO
        };
        out.bk = if self.i.r { self.upanteil(jbmg * n(100)) } else { D::ZERO };
    }

    /// UPANTEIL: an annual amount's share of the pay period, rounded down to cents.
    fn upanteil(&self, jw: Decimal) -> Decimal {
        match self.lzz {
            Lzz::Year => jw,
            Lzz::Month => div(jw, n(12), 0),
            Lzz::Week => div(jw * n(7), n(360), 0),
            Lzz::Day => div(jw, n(360), 0),
        }
    }

    /// MSONST: the other payment by the annual-table method, tax on the annual wage with it
    /// minus the tax without it.
    fn msonst(&mut self, out: &mut PapOutput) {
        self.lzz = Lzz::Year;
        if self.i.sonstb.is_zero() && self.i.mbv.is_zero() {
            return;
        }
        let lstoso = self.mosonst();
        self.zre4j = down((self.i.jre4 + self.i.sonstb) / n(100), 2);
        self.mre4sonst();
        self.mlstjahr();
        let lstso = self.st * n(100);
        out.sts = div((lstso - lstoso) * self.f, n(100), 0) * n(100);
        self.stsmin(out);
    }

    /// MOSONST: the annual tax without the other payment (LSTOSO, in cents).
    fn mosonst(&mut self) -> Decimal {
        self.zre4j = down(self.i.jre4 / n(100), 2);
        self.jlfreib = div(self.i.jfreib, n(100), 2);
        self.jlhinzu = div(self.i.jhinzu, n(100), 2);
        self.mre4abz();
        self.zre4vp -= self.i.jre4ent / n(100);
        self.mztabfb();
        self.mlstjahr();
        self.st * n(100)
    }

    /// MRE4SONST: the annual wage with the other payment.
    fn mre4sonst(&mut self) {
        self.mre4abz();
        self.zre4vp = self.zre4vp + self.i.mbv / n(100) - self.i.jre4ent / n(100) - self.i.sonstent / n(100);
        self.mztabfb();
    }

    /// STSMIN: a negative STS (possible only with MBV) reduces the regular wage's amounts.
    fn stsmin(&mut self, out: &mut PapOutput) {
        if out.sts < D::ZERO {
            if !self.i.mbv.is_zero() {
                out.lstlzz = (out.lstlzz + out.sts).max(D::ZERO);
                out.solzlzz = down(out.solzlzz + out.sts * self.y.solidarity.rate, 0).max(D::ZERO);
                out.bk = (out.bk + out.sts).max(D::ZERO);
            }
            out.sts = D::ZERO;
            out.solzs = D::ZERO;
        } else {
            self.msolzsts(out);
        }
        out.bks = if self.i.r { out.sts } else { D::ZERO };
    }

    /// MSOLZSTS: the solidarity surcharge on STS, when the annual tax with the other payment
    /// (child allowances deducted) exceeds the exemption.
    fn msolzsts(&mut self, out: &mut PapOutput) {
        let solzszve = if self.i.zkf > D::ZERO { self.zve - self.kfb } else { self.zve };
        self.x = if solzszve < D::ONE { D::ZERO } else { div(solzszve, self.kztab, 0) };
        self.tax_on_x();
        let solzsbmg = down(self.st * self.f, 0);
        out.solzs = if solzsbmg > self.solzfrei { down(out.sts * self.y.solidarity.rate, 0) } else { D::ZERO };
    }
}
