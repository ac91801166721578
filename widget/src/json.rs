//! Wire types to and from the browser's JSON values: serde over `JsValue`, with `JSON.parse`
//! and `JSON.stringify` (through `fetch`) doing the text.
//!
//! Why not `serde_json` or `serde-wasm-bindgen`: both turn every decoding error into a message,
//! and serde's messages print the unexpected value, floats included. With `serde_json` (and
//! gloo-net) the widget's wasm was 30 % larger (brotli); float printing alone was 14 KB raw.
//! Here an error is just [`Invalid`]: serde still builds its message arguments, but nothing
//! ever formats them, so the linker drops that code. The widget only needs to know *that* a
//! body was not what the protocol says, never why. `tests/json.rs` checks that it reads and
//! writes the wire types exactly as `serde_json` does.
//!
//! ```ignore
//! let body = json::to_value(&SendMessage { text: "hi".into(), payload: None })?;
//! let reply: Messages = json::from_value(response_json)?;
//! ```

use js_sys::{Array, Object, Reflect};
use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// A value that does not fit the wire type (or a wire type that has no JSON form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not the expected JSON")
    }
}

impl std::error::Error for Invalid {}

impl de::Error for Invalid {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Invalid
    }
}

impl ser::Error for Invalid {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Invalid
    }
}

/// Reads a wire type from a parsed JSON value (e.g. the result of `Response.json()`).
pub fn from_value<T: DeserializeOwned>(value: JsValue) -> Result<T, Invalid> {
    T::deserialize(Value(value))
}

/// Writes a wire type as a JSON-compatible JS value (objects, arrays, strings, numbers).
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, Invalid> {
    value.serialize(ToJs)
}

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// What a JSON value is, worked out once outside the generic code (which is instantiated
/// for every wire type).
enum Kind {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    String(String),
    Array(Array),
    /// `[key, value]` pairs.
    Object(Array),
}

impl Kind {
    fn of(v: JsValue) -> Result<Self, Invalid> {
        Ok(if v.is_null() || v.is_undefined() {
            Kind::Null
        } else if let Some(b) = v.as_bool() {
            Kind::Bool(b)
        } else if let Some(n) = v.as_f64() {
            if n.fract() != 0.0 || !(-MAX_SAFE..=MAX_SAFE).contains(&n) {
                Kind::Float(n)
            } else if n < 0.0 {
                Kind::Signed(n as i64)
            } else {
                Kind::Unsigned(n as u64)
            }
        } else if let Some(s) = v.as_string() {
            Kind::String(s)
        } else if Array::is_array(&v) {
            Kind::Array(v.unchecked_into())
        } else if v.is_object() {
            Kind::Object(Object::entries(v.unchecked_ref()))
        } else {
            return Err(Invalid);
        })
    }
}

/// A parsed JSON value being deserialized.
struct Value(JsValue);

impl<'de> de::Deserializer<'de> for Value {
    type Error = Invalid;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        match Kind::of(self.0)? {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Unsigned(n) => visitor.visit_u64(n),
            Kind::Signed(n) => visitor.visit_i64(n),
            Kind::Float(n) => visitor.visit_f64(n),
            Kind::String(s) => visitor.visit_string(s),
            Kind::Array(array) => visitor.visit_seq(Items { array, next: 0 }),
            Kind::Object(entries) => visitor.visit_map(Fields { entries, next: 0, value: None }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        if self.0.is_null() || self.0.is_undefined() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Invalid> {
        visitor.visit_newtype_struct(self)
    }

    /// Only unit variants, written as strings (`"bot"`), travel on the wire so far; internally
    /// tagged enums (`#[serde(tag = "…")]`) go through `deserialize_any` and work too.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Invalid> {
        let variant: StringDeserializer<Invalid> = self.0.as_string().ok_or(Invalid)?.into_deserializer();
        visitor.visit_enum(variant)
    }

    // The methods below accept only the JSON kind the type asks for. Besides being strict,
    // this keeps the wasm small: the derive's visitor for a struct also reads the struct
    // from an array (`visit_seq`), and that code is only linked if something can call it.

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Invalid> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        match Kind::of(self.0)? {
            Kind::Object(entries) => visitor.visit_map(Fields { entries, next: 0, value: None }),
            _ => Err(Invalid),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        match Kind::of(self.0)? {
            Kind::Array(array) => visitor.visit_seq(Items { array, next: 0 }),
            _ => Err(Invalid),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        visitor.visit_string(self.0.as_string().ok_or(Invalid)?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        self.deserialize_string(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        match Kind::of(self.0)? {
            Kind::Unsigned(n) => visitor.visit_u64(n),
            _ => Err(Invalid),
        }
    }

    /// An unknown field's value: skipped, whatever it is.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Invalid> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u128 f32 f64 char bytes byte_buf unit
        unit_struct tuple tuple_struct
    }
}

/// The elements of a JS array.
struct Items {
    array: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Invalid;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Invalid> {
        if self.next >= self.array.length() {
            return Ok(None);
        }
        self.next += 1;
        seed.deserialize(Value(self.array.get(self.next - 1))).map(Some)
    }
}

/// The own enumerable properties of a JS object, as `[key, value]` pairs.
struct Fields {
    entries: Array,
    next: u32,
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Invalid;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Invalid> {
        if self.next >= self.entries.length() {
            return Ok(None);
        }
        let entry: Array = self.entries.get(self.next).unchecked_into();
        self.next += 1;
        self.value = Some(entry.get(1));
        seed.deserialize(Value(entry.get(0))).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Invalid> {
        seed.deserialize(Value(self.value.take().ok_or(Invalid)?))
    }
}

/// Serializes into JS values.
struct ToJs;

/// An array being filled; `variant` wraps it as `{variant: [...]}`.
struct ArrayOut {
    array: Array,
    variant: Option<&'static str>,
}

/// An object being filled; `variant` wraps it as `{variant: {...}}`.
struct ObjectOut {
    object: Object,
    key: JsValue,
    variant: Option<&'static str>,
}

/// `{variant: value}`: serde's external tagging.
fn tagged(variant: Option<&'static str>, value: JsValue) -> Result<JsValue, Invalid> {
    let Some(variant) = variant else { return Ok(value) };
    let object = Object::new();
    set(&object, &JsValue::from_str(variant), &value)?;
    Ok(object.into())
}

fn set(object: &Object, key: &JsValue, value: &JsValue) -> Result<(), Invalid> {
    Reflect::set(object, key, value).map(drop).map_err(|_| Invalid)
}

fn array(variant: Option<&'static str>) -> Result<ArrayOut, Invalid> {
    Ok(ArrayOut { array: Array::new(), variant })
}

fn object(variant: Option<&'static str>) -> Result<ObjectOut, Invalid> {
    Ok(ObjectOut { object: Object::new(), key: JsValue::UNDEFINED, variant })
}

/// Numbers become JS numbers (integers beyond 2^53 lose precision, as in any JS client).
macro_rules! numbers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<JsValue, Invalid> {
            Ok(JsValue::from_f64(v as f64))
        }
    )*};
}

impl ser::Serializer for ToJs {
    type Ok = JsValue;
    type Error = Invalid;
    type SerializeSeq = ArrayOut;
    type SerializeTuple = ArrayOut;
    type SerializeTupleStruct = ArrayOut;
    type SerializeTupleVariant = ArrayOut;
    type SerializeMap = ObjectOut;
    type SerializeStruct = ObjectOut;
    type SerializeStructVariant = ObjectOut;

    numbers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64, serialize_u8: u8,
        serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32, serialize_f64: f64);

    fn serialize_bool(self, v: bool) -> Result<JsValue, Invalid> {
        Ok(JsValue::from_bool(v))
    }
    fn serialize_char(self, v: char) -> Result<JsValue, Invalid> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<JsValue, Invalid> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<JsValue, Invalid> {
        Err(Invalid)
    }
    fn serialize_none(self) -> Result<JsValue, Invalid> {
        Ok(JsValue::NULL)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<JsValue, Invalid> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<JsValue, Invalid> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<JsValue, Invalid> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<JsValue, Invalid> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<JsValue, Invalid> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<JsValue, Invalid> {
        tagged(Some(variant), to_value(value)?)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<ArrayOut, Invalid> {
        array(None)
    }
    fn serialize_tuple(self, _: usize) -> Result<ArrayOut, Invalid> {
        array(None)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<ArrayOut, Invalid> {
        array(None)
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, v: &'static str, _: usize) -> Result<ArrayOut, Invalid> {
        array(Some(v))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<ObjectOut, Invalid> {
        object(None)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<ObjectOut, Invalid> {
        object(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
        _: usize,
    ) -> Result<ObjectOut, Invalid> {
        object(Some(v))
    }
}

/// The four ways serde fills an array, all the same here.
macro_rules! array_out {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for ArrayOut {
            type Ok = JsValue;
            type Error = Invalid;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Invalid> {
                self.array.push(&to_value(value)?);
                Ok(())
            }
            fn end(self) -> Result<JsValue, Invalid> {
                tagged(self.variant, self.array.into())
            }
        }
    )*};
}

array_out!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structs and struct variants: fields by name.
macro_rules! object_out {
    ($($trait:ident),*) => {$(
        impl ser::$trait for ObjectOut {
            type Ok = JsValue;
            type Error = Invalid;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Invalid> {
                set(&self.object, &JsValue::from_str(key), &to_value(value)?)
            }
            fn end(self) -> Result<JsValue, Invalid> {
                tagged(self.variant, self.object.into())
            }
        }
    )*};
}

object_out!(SerializeStruct, SerializeStructVariant);

/// Maps (and `#[serde(flatten)]`): JSON keys are strings; anything else is refused.
impl ser::SerializeMap for ObjectOut {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Invalid> {
        self.key = to_value(key)?;
        if self.key.is_string() { Ok(()) } else { Err(Invalid) }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Invalid> {
        set(&self.object, &self.key, &to_value(value)?)
    }
    fn end(self) -> Result<JsValue, Invalid> {
        tagged(self.variant, self.object.into())
    }
}
