//! A plain, deterministic PDF of monospaced text lines (statements people download): A4
//! landscape pages, DejaVu Sans Mono embedded whole (its licence is beside it in `assets/`),
//! drawn through Identity-H glyph ids with a ToUnicode map, so `pdftotext` and screen readers
//! get back exactly the strings written. No date or random id is written: the same lines give
//! the same bytes.
//!
//! Layout is computed in whole points and font units (integers) and handed to the PDF writer
//! as `f32`, the type it takes; no float arithmetic happens here and no amount passes through
//! it: every number arrives already formatted as text.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// The embedded font.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");
const FONT_NAME: Name<'static> = Name(b"DejaVuSansMono");
/// A4 landscape, in points.
const PAGE: (i16, i16) = (842, 595);
const MARGIN: i16 = 36;
/// The font size and the distance between lines, in points.
const SIZE: f32 = 9.0;
const LEADING: i16 = 11;

/// Lines a page holds.
pub fn lines_per_page() -> usize {
    usize::from(((PAGE.1 - 2 * MARGIN - 9) / LEADING).unsigned_abs()).max(1)
}

fn pt(v: i16) -> f32 {
    f32::from(v)
}

/// A length in font units as the PDF's thousandths of the font size.
fn per_mille(v: i16, units_per_em: u16) -> f32 {
    let scaled = i32::from(v) * 1000 / i32::from(units_per_em.max(1));
    f32::from(i16::try_from(scaled).unwrap_or(i16::MAX))
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font cannot be read: {0}")]
    Font(String),
}

/// The PDF of `lines` (split into pages as they fill), titled `title` in its metadata.
pub fn render(title: &str, lines: &[String]) -> Result<Vec<u8>, PdfError> {
    let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| PdfError::Font(e.to_string()))?;
    let units = face.units_per_em();
    let question = face.glyph_index('?').map_or(0, |g| g.0);
    // Every character drawn, by glyph id: the ToUnicode map and the width table use it.
    let mut used: BTreeMap<u16, char> = BTreeMap::new();
    let mut encode = |text: &str| -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let gid = face.glyph_index(c).map_or(question, |g| g.0);
            used.entry(gid).or_insert(c);
            out.extend_from_slice(&gid.to_be_bytes());
        }
        out
    };

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, tree, info, type0, cid, descriptor, font_file, cmap) =
        (alloc(), alloc(), alloc(), alloc(), alloc(), alloc(), alloc(), alloc());
    let chunks: Vec<&[String]> = if lines.is_empty() { vec![&[]] } else { lines.chunks(lines_per_page()).collect() };
    let mut pages = Vec::new();
    for (n, chunk) in chunks.iter().enumerate() {
        let (page, content) = (alloc(), alloc());
        pages.push(page);
        let mut c = Content::new();
        c.begin_text();
        c.set_font(Name(b"F1"), SIZE);
        c.next_line(pt(MARGIN), pt(PAGE.1 - MARGIN - 9));
        for (i, line) in chunk.iter().enumerate() {
            if i > 0 {
                c.next_line(0.0, pt(-LEADING));
            }
            c.show(Str(&encode(line.trim_end())));
        }
        // The page number, bottom right.
        let footer = format!("page {} of {}", n + 1, chunks.len());
        c.end_text();
        c.begin_text();
        c.set_font(Name(b"F1"), SIZE);
        c.next_line(pt(MARGIN), pt(MARGIN / 2));
        c.show(Str(&encode(&footer)));
        c.end_text();
        pdf.stream(content, &c.finish());
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, pt(PAGE.0), pt(PAGE.1)));
        p.parent(tree);
        p.contents(content);
        p.resources().fonts().pair(Name(b"F1"), type0);
        p.finish();
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(pages.iter().copied()).count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.document_info(info).title(pdf_writer::TextStr(title)).producer(pdf_writer::TextStr("tokencomp"));

    let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    pdf.type0_font(type0)
        .base_font(FONT_NAME)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let mut font = pdf.cid_font(cid);
    font.subtype(CidFontType::Type2);
    font.base_font(FONT_NAME);
    font.system_info(system);
    font.font_descriptor(descriptor);
    font.cid_to_gid_map_predefined(Name(b"Identity"));
    let advance = |gid: u16| {
        let adv = face.glyph_hor_advance(ttf_parser::GlyphId(gid)).unwrap_or(0);
        per_mille(i16::try_from(adv).unwrap_or(i16::MAX), units)
    };
    font.default_width(advance(question));
    {
        let mut widths = font.widths();
        for gid in used.keys() {
            widths.consecutive(*gid, [advance(*gid)]);
        }
    }
    font.finish();
    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(FONT_NAME)
        .flags(FontFlags::FIXED_PITCH | FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            per_mille(bbox.x_min, units),
            per_mille(bbox.y_min, units),
            per_mille(bbox.x_max, units),
            per_mille(bbox.y_max, units),
        ))
        .italic_angle(0.0)
        .ascent(per_mille(face.ascender(), units))
        .descent(per_mille(face.descender(), units))
        .cap_height(per_mille(face.capital_height().unwrap_or(face.ascender()), units))
        .stem_v(80.0)
        .font_file2(font_file);
    let length = i32::try_from(FONT.len()).unwrap_or(i32::MAX);
    pdf.stream(font_file, FONT).pair(Name(b"Length1"), length);
    let mut map = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system);
    for (gid, c) in &used {
        map.pair(*gid, *c);
    }
    pdf.cmap(cmap, &map.finish());
    Ok(pdf.finish())
}
