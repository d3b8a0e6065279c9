"""Real regression and classification datasets bundled with the package (no download at run time).

Each dataset is a gzip CSV shipped as package data and prepared as documented in the package's
data notes: leaks and second targets dropped, string columns one-hot encoded, missing cells kept
as NaN. ``load_dataset(name)`` returns numeric ``X`` and the target ``y``: a float array for the
regression datasets, the class labels exactly as the file stores them for the classification
datasets (integers here; a file with string labels would give strings).
``list_datasets()`` names the regression datasets, as it always has;
``list_datasets(task="classification")`` the classification ones, ``list_datasets(task=None)``
all of them.

Sources (please cite them when you publish results on these data):

- UCI Machine Learning Repository (Dua and Graff; CC BY 4.0), with the datasets' donors:
  Concrete Compressive Strength (I-Cheng Yeh, 1998); Energy Efficiency (Tsanas and Xifara, 2012);
  Yacht Hydrodynamics (Gerritsma, Onnink and Versluis, 1981); Wine Quality (Cortez et al., 2009);
  Combined Cycle Power Plant (Tufekci, 2014); Condition Based Maintenance of Naval Propulsion
  Plants (Coraddu et al., 2016); Physicochemical Properties of Protein Tertiary Structure
  (Rana, 2013); Communities and Crime (Redmond, 2009); Bike Sharing (Fanaee-T and Gama, 2013).
- UCI classification datasets: Pen-Based Recognition of Handwritten Digits (Alpaydin and
  Alimoglu, 1998); Statlog (Landsat Satellite) (Srinivasan, 1993); Statlog (Image Segmentation)
  (Brodley, 1990; Vision Group, University of Massachusetts); Yeast (Nakai, 1996).
- kin8nm: the Delve collection (University of Toronto), robot-arm simulation.
- California housing: Pace and Barry (1997), StatLib, as in ``sklearn.datasets``.
- Time-ordered data (``list_datasets(task="timeseries")``, rows in time order): ELEC2, the New
  South Wales electricity market (Harries, 1999; as prepared by Barber, Candes, Ramdas and
  Tibshirani, 2023: the first 17,760 rows dropped, 9am-12pm only, ``transfer`` predicted from
  the two states' prices and demands, 3,444 rows); Power Consumption of Tetouan City (Salam and
  El Hibaoui, 2018; UCI, CC BY 4.0; 10-minute readings over 2017, zone 1 predicted from the
  weather); Mauna Loa weekly CO2 (as bundled by statsmodels; public domain; the 59 missing weeks
  dropped, the feature ``years`` is the time since the first week).
- Real missing covariates (``list_datasets(task="missing")``; NaN kept in ``X``, rows with a
  missing target dropped): R's ``airquality`` (New York, 1973; Ozone predicted; 116 rows);
  Beijing Multi-Site Air-Quality, Aotizhongxin station (Zhang et al., 2017; UCI, CC BY 4.0;
  hourly 2013-2017, PM2.5 predicted, real sensor gaps, wind direction one-hot with NaN where it
  is missing; 34,139 rows); Tennessee STAR (Word et al., 1990; R package AER, ``STAR``; grade-3
  maths score ``math3`` predicted from the earlier years, ``read3`` and school ids dropped;
  students enter and leave, so most rows have gaps; 6,077 rows).
- The copies were taken from the experiment repositories of Gal and Ghahramani (2016,
  UCI_Datasets), Romano, Patterson and Candes (2019, CQR), PMLB (Olson et al., 2017; all four
  classification datasets) and ISLP (James et al., 2023); ``describe_dataset(name)`` gives each
  file's exact origin and licence.

Classification labels, as PMLB stores them:

- ``pendigits``: the digits 0-9 (10 classes, balanced).
- ``satimage``: the UCI codes 1, 2, 3, 4, 5 and 7 (6 classes; UCI has no class 6).
- ``segmentation``: PMLB's integer codes 0-6 for the 7 image-region classes (330 rows each); the
  file does not keep the region names.
- ``yeast``: PMLB's integer codes 0-8 for 9 localisation sites (imbalanced, 20 to 463 rows);
  matched by class size to the UCI names they are 0 MIT, 1 NUC, 2 CYT, 3 ME1, 4 EXC, 5 ME2,
  6 ME3, 7 VAC, 8 POX. PMLB dropped the 5 rows of UCI's class ERL.

Examples
--------
>>> from conformal.datasets import list_datasets, load_dataset
>>> "concrete" in list_datasets()
True
>>> X, y = load_dataset("concrete")
>>> X.shape, y.shape
((1030, 8), (1030,))
>>> list_datasets(task="classification")
['pendigits', 'satimage', 'segmentation', 'yeast']
>>> X, y = load_dataset("yeast")
>>> X.shape, y.dtype, sorted(set(y.tolist()))
((1479, 8), dtype('int64'), [0, 1, 2, 3, 4, 5, 6, 7, 8])
"""

from ._base import TASKS, describe_dataset, list_datasets, load_dataset

__all__ = ["TASKS", "describe_dataset", "list_datasets", "load_dataset"]
