//! One page of an ARM list (`{ value: [...], nextLink }`) read with each element mapped as soon as it is parsed.
//!
//! Why: a page of the vault's items or jobs parsed whole is a hundred full models (~2 KB each, most of their
//! fields never read) before they are mapped to facts, and ten vaults' pages in flight at once were ~2.5 MB of the
//! controller's peak at 10,000 machines (heaptrack, issue 13). Mapped while parsed, one model lives at a time.

use std::{fmt, marker::PhantomData};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A page: its elements already mapped, and the link to the next page.
#[derive(Debug)]
pub(crate) struct MappedPage<U> {
    pub value: Vec<U>,
    pub next_link: Option<String>,
}

/// Reads a page of `T`, keeping `map(T)` of each. A missing or `null` `value` is an empty page; unknown fields are
/// ignored.
pub(crate) struct PageSeed<'m, T, U> {
    map: &'m dyn Fn(T) -> U,
    element: PhantomData<fn() -> T>,
}

impl<'m, T, U> PageSeed<'m, T, U> {
    pub fn new(map: &'m dyn Fn(T) -> U) -> Self {
        Self { map, element: PhantomData }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    Value,
    NextLink,
    #[serde(other)]
    Other,
}

impl<'de, T: Deserialize<'de>, U> DeserializeSeed<'de> for PageSeed<'_, T, U> {
    type Value = MappedPage<U>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>, U> Visitor<'de> for PageSeed<'_, T, U> {
    type Value = MappedPage<U>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ARM list page ({ value, nextLink })")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<Self::Value, A::Error> {
        let mut page = MappedPage { value: Vec::new(), next_link: None };
        while let Some(field) = fields.next_key::<Field>()? {
            match field {
                Field::Value => page.value = fields.next_value_seed(Elements { map: self.map, element: PhantomData })?,
                Field::NextLink => page.next_link = fields.next_value()?,
                Field::Other => {
                    fields.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

/// The `value` array (or `null`), each element mapped as it is read.
struct Elements<'m, T, U> {
    map: &'m dyn Fn(T) -> U,
    element: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, U> DeserializeSeed<'de> for Elements<'_, T, U> {
    type Value = Vec<U>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>, U> Visitor<'de> for Elements<'_, T, U> {
    type Value = Vec<U>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of resources or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut elements: S) -> Result<Self::Value, S::Error> {
        let mut out = Vec::with_capacity(elements.size_hint().unwrap_or(0).min(1024));
        while let Some(element) = elements.next_element::<T>()? {
            out.push((self.map)(element));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn read<T: for<'de> Deserialize<'de>, U>(json: &str, map: &dyn Fn(T) -> U) -> Result<MappedPage<U>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        let page = PageSeed::new(map).deserialize(&mut de)?;
        de.end()?;
        Ok(page)
    }

    #[test]
    fn each_element_is_mapped_before_the_next_is_parsed() {
        // The map sees the elements one by one, in order; a model parsed whole would be seen only after the page.
        let seen = Cell::new(0);
        let map = |id: u32| {
            seen.set(seen.get() + 1);
            (id, seen.get())
        };
        let page = read(r#"{"value": [7, 8, 9], "nextLink": "https://arm/next?page=2"}"#, &map).unwrap();
        assert_eq!(page.value, vec![(7, 1), (8, 2), (9, 3)]);
        assert_eq!(page.next_link.as_deref(), Some("https://arm/next?page=2"));
    }

    #[test]
    fn a_page_without_value_or_with_null_value_is_empty_and_unknown_fields_are_ignored() {
        let id = |v: serde_json::Value| v;
        for json in [r#"{}"#, r#"{"value": null, "nextLink": null}"#, r#"{"odata.count": 3, "value": [], "extra": {"a": [1]}}"#] {
            let page = read(json, &id).unwrap();
            assert!(page.value.is_empty() && page.next_link.is_none(), "{json}");
        }
    }

    #[test]
    fn an_element_of_the_wrong_shape_fails_the_page_with_serdes_error() {
        let map = |n: u32| n;
        let e = read(r#"{"value": [1, "two"]}"#, &map).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
        assert!(read(r#"[1, 2]"#, &map).is_err(), "a bare array is not a page");
    }
}
