import Testing
@testable import Engine

@Suite("Printing, matrix power, spectral radius")
struct TensorPrintingAndAlgebraTests {
    @Test func smallMatrixPrintsLikeNumPy() {
        let t = Tensor<Float>([[1, -2.5, 3], [0.25, 5, 6]])
        #expect(t.description == """
        Tensor<Float> shape [2, 3]
        [[ 1.0000, -2.5000,  3.0000],
         [ 0.2500,  5.0000,  6.0000]]
        """)
        #expect(Tensor<Double>([1, 2, 3]).formattedValues() == "[1., 2., 3.]")
        #expect(Tensor<Double>(3.5).formattedValues() == "3.5000")
    }

    @Test func threeDimensionalTensorsSeparateBlocks() {
        let t = Tensor<Double>(arange: 0, to: 8).reshaped([2, 2, 2])
        #expect(t.formattedValues() == "[[[0., 1.],\n  [2., 3.]],\n\n [[4., 5.],\n  [6., 7.]]]")
    }

    @Test func largeTensorsAreElided() {
        let t = Tensor<Float>(arange: 0, to: 2000).reshaped([40, 50])
        let text = t.formattedValues()
        #expect(text.hasPrefix("[[   0.,    1.,    2., ...,   47.,   48.,   49.],"))
        #expect(text.contains(" ...,\n"))
        #expect(text.hasSuffix("1997., 1998., 1999.]]"))
        #expect(text.split(separator: "\n").count == 7)
    }

    @Test func tinyAndHugeValuesUseScientificNotation() {
        #expect(Tensor<Double>([1e-7, 2]).formattedValues() == "[1.0000e-07, 2.0000e+00]")
        #expect(Tensor<Double>([.nan, .infinity, 0.5]).formattedValues() == "[   nan,    inf, 0.5000]")
    }

    @Test func matrixPower() {
        let a = Tensor<Double>([[1, 1], [1, 0]])           // Fibonacci matrix
        #expect(a.power(10) == Tensor([[89, 55], [55, 34]]))
        #expect(a.power(0) == Tensor(identity: 2))
        #expect(a.power(1) == a)
        let r = Tensor<Double>(randomNormal: [5, 5], seed: 3)
        #expect((r.power(7) - r.matmul(r).matmul(r).matmul(r).matmul(r).matmul(r).matmul(r)).maxAbs() < 1e-9)
    }

    struct RadiusCase: Sendable, CustomTestStringConvertible {
        let name: String, matrix: [[Double]], radius: Double, tolerance: Double
        var testDescription: String { name }
    }

    static let radiusCases: [RadiusCase] = {
        let c = 0.8 * Double.cos(0.7), s = 0.8 * Double.sin(0.7)
        return [
            RadiusCase(name: "diagonal with negative dominant", matrix: [[0.5, 0], [0, -0.9]], radius: 0.9, tolerance: 1e-10),
            RadiusCase(name: "complex pair (scaled rotation)", matrix: [[c, -s], [s, c]], radius: 0.8, tolerance: 1e-10),
            RadiusCase(name: "equal modulus, opposite sign", matrix: [[2, 0, 0], [0, -2, 0], [0, 0, 1]], radius: 2, tolerance: 1e-10),
            RadiusCase(name: "Jordan block", matrix: [[0.9, 1], [0, 0.9]], radius: 0.9, tolerance: 1e-9),
            RadiusCase(name: "nilpotent", matrix: [[0, 1], [0, 0]], radius: 0, tolerance: 0),
            RadiusCase(name: "non-normal upper triangular", matrix: [[0.5, 100], [0, 0.3]], radius: 0.5, tolerance: 1e-9),
            RadiusCase(name: "companion of x²+x+1 (cube roots of unity)", matrix: [[0, -1], [1, -1]], radius: 1, tolerance: 1e-10),
            RadiusCase(name: "large entries", matrix: [[3e10, 0], [1, -4e10]], radius: 4e10, tolerance: 1e-10),
            // Gelfand's formula with renormalised squarings returned 0 here: the powers'
            // entries underflowed one by one until what was left was nilpotent.
            RadiusCase(name: "16×16 Jordan-like: 0.5·I plus ones above the diagonal",
                       matrix: (0 ..< 16).map { i in (0 ..< 16).map { j in j == i ? 0.5 : (j == i + 1 ? 1 : 0) } },
                       radius: 0.5, tolerance: 1e-3),
            RadiusCase(name: "strictly upper triangular 4×4", matrix: (0 ..< 4).map { i in (0 ..< 4).map { j in j > i ? Double(i + j) : 0 } },
                       radius: 0, tolerance: 0),
            RadiusCase(name: "tiny scale", matrix: [[1e-200, 1], [0, 1e-200]], radius: 1e-200, tolerance: 1e-10),
        ]
    }()

    @Test(arguments: radiusCases)
    func spectralRadiusOfKnownMatrices(_ c: RadiusCase) {
        let rho = Tensor<Double>(c.matrix).spectralRadius()
        #expect(abs(rho - c.radius) <= c.tolerance * max(c.radius, 1), "\(c.name): got \(rho)")
    }

    @Test func spectralRadiusOfANonFiniteMatrixIsNaN() {
        #expect(Tensor<Double>([[1, .nan], [0, 1]]).spectralRadius().isNaN)
        #expect(Tensor<Float>([[.infinity, 0], [0, 1]]).spectralRadius().isNaN)
        #expect(Tensor<Double>(zeros: [0, 0]).spectralRadius() == 0)
    }

    /// A random matrix scaled to radius r has radius r (the chapter on vanishing gradients does
    /// this), and the radius of its transpose is the same.
    @Test func scalingARandomMatrixScalesItsRadius() {
        let a = Tensor<Double>(randomNormal: [16, 16], seed: 21)
        let rho = a.spectralRadius()
        #expect(rho > 1 && rho < 8)
        for r in [0.5, 1.0, 1.5] { #expect(abs((a * (r / rho)).spectralRadius() - r) < 1e-12 * max(r, 1)) }
        #expect(abs(a.transposed.spectralRadius() - rho) < 1e-12 * rho)
    }

    @Test func spectralRadiusOfSymmetricMatrixIsLargestAbsoluteEigenvalue() {
        // Q diag(3, -5, 1) Qᵀ with Q a rotation: eigenvalues known exactly.
        let t = 0.3
        let q = Tensor<Double>([[cos(t), -sin(t), 0], [sin(t), cos(t), 0], [0, 0, 1]])
        let d = Tensor<Double>([[3, 0, 0], [0, -5, 0], [0, 0, 1]])
        let a = q.matmul(d).matmul(q.transposed)
        #expect(abs(a.spectralRadius() - 5) < 1e-9)
        #expect(abs(Tensor<Float>(a).spectralRadius() - 5) < 1e-4)
    }
}

import Foundation
