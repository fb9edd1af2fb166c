using System.Reflection;

namespace Showrunner.Testing;

/// <summary>
/// Every test class says which layer it is (STYLE.md §14, docs/testing.md "Categories"), so that
/// <c>dotnet test --filter Category=Unit</c> runs exactly the fast ones and nothing slips through
/// every filter: a class with tests and no <c>[Trait("Category", X)]</c>, or with an X that is not
/// one of the layers, fails here by name. Compiled into every test project (tests/Directory.Build.props),
/// each checking its own assembly. tests/tools/add-category-traits.py gives new classes a first trait.
/// </summary>
[Trait("Category", "Unit")]
public sealed class TestCategoryTests
{
    private static readonly string[] Layers = ["Unit", "Component", "Integration", "Fault", "Fuzz", "Simulation", "Browser"];

    [Fact]
    public void Every_test_class_has_one_category_trait_naming_its_layer()
    {
        var testClasses = typeof(TestCategoryTests).Assembly.GetTypes()
            .Where(t => t.IsClass && !t.IsAbstract && !t.IsNested)
            .Where(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).Any(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any()))
            .ToList();
        Assert.NotEmpty(testClasses);
        var problems = new List<string>();
        foreach (var type in testClasses)
        {
            var categories = type.GetCustomAttributesData()
                .Where(a => a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments.Count == 2 && (string?)a.ConstructorArguments[0].Value == "Category")
                .Select(a => (string?)a.ConstructorArguments[1].Value)
                .ToList();
            if (categories.Count != 1)
            {
                problems.Add($"{type.FullName}: {(categories.Count == 0 ? "no" : categories.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} Category traits (give it one of {string.Join(", ", Layers)})");
            }
            else if (!Layers.Contains(categories[0]))
            {
                problems.Add($"{type.FullName}: Category \"{categories[0]}\" is not one of {string.Join(", ", Layers)}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
