"""What a course is made of, on the trusted side: the rubric model and its
validation, finding and loading an assignment (rubric plus reference package),
autograder bundles, and the template maker for instructors.
"""
