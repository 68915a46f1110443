//! Strips a runtime source for the generated crate: `#[cfg(test)]` items removed, the rest
//! pretty-printed. Shared by `build.rs` (the runtime crate's files, stripped once when mcpgen is
//! built) and [`crate::runtime_source::copy_out`].

/// The source without its test-only items, pretty-printed.
pub fn strip(source: &str) -> Result<String, syn::Error> {
    let mut file = syn::parse_file(source)?;
    strip_tests(&mut file.items);
    Ok(prettyplease::unparse(&file))
}

/// Removes `#[cfg(test)]` items (test modules, test-only helpers and imports), also inside
/// inline modules and impl blocks.
fn strip_tests(items: &mut Vec<syn::Item>) {
    items.retain(|item| !item_attrs(item).iter().any(is_cfg_test));
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &mut m.content {
                    strip_tests(inner);
                }
            }
            syn::Item::Impl(i) => i.items.retain(|item| {
                let attrs = match item {
                    syn::ImplItem::Const(c) => &c.attrs,
                    syn::ImplItem::Fn(f) => &f.attrs,
                    syn::ImplItem::Type(t) => &t.attrs,
                    syn::ImplItem::Macro(m) => &m.attrs,
                    _ => return true,
                };
                !attrs.iter().any(is_cfg_test)
            }),
            _ => {}
        }
    }
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]`, exactly: an item also built outside tests (`cfg(any(test, ...))`) stays.
pub(crate) fn is_cfg_test(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg")
        && attr
            .meta
            .require_list()
            .is_ok_and(|list| list.tokens.to_string() == "test")
}
